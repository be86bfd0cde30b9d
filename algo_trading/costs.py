"""Trading costs: commission and slippage models.

Both are small callables so the event-driven and the vectorised engines share them bit for bit
(same inputs, same float operations, same trades). Each has ``spec()`` for reports and a
``*_from_spec`` constructor for the dicts that arrive from the API/CLI, e.g.
``{"model": "per_share", "rate": 0.005, "minimum": 1.0}``.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from .models import BUY


class CostConfigError(ValueError):
    """A commission/slippage/sizing spec is malformed."""


#: a percent commission takes less than all of the notional (100% or more is not a commission)
MAX_RATE_PCT = 100.0
#: slippage in basis points stays under 100% of the price (10 000 bps would sell for nothing)
MAX_BPS = 10_000.0
#: per-share rates and per-fill minimums, in account currency: generous, but far from overflow
MAX_FEE = 1e9


class CommissionModel(ABC):
    """Commission charged on one fill, in account currency."""

    @abstractmethod
    def __call__(self, qty: int, price: float) -> float: ...

    @abstractmethod
    def spec(self) -> dict[str, Any]: ...


class NoCommission(CommissionModel):
    def __call__(self, qty: int, price: float) -> float:
        return 0.0

    def spec(self) -> dict[str, Any]:
        return {"model": "none"}


class PerShare(CommissionModel):
    """``rate`` per share with a per-fill ``minimum`` (IBKR-style fixed pricing)."""

    def __init__(self, rate: float = 0.005, minimum: float = 1.0) -> None:
        check_number("rate", rate, 0.0, MAX_FEE)
        check_number("minimum", minimum, 0.0, MAX_FEE)
        self.rate = float(rate)
        self.minimum = float(minimum)

    def __call__(self, qty: int, price: float) -> float:
        fee = abs(qty) * self.rate
        return fee if fee > self.minimum else self.minimum

    def spec(self) -> dict[str, Any]:
        return {"model": "per_share", "rate": self.rate, "minimum": self.minimum}


class Percent(CommissionModel):
    """``rate_pct`` percent of traded notional (0.1 means 0.1%), with a per-fill ``minimum``."""

    def __init__(self, rate_pct: float = 0.1, minimum: float = 0.0) -> None:
        check_number("rate_pct", rate_pct, 0.0, MAX_RATE_PCT, high_open=True)
        check_number("minimum", minimum, 0.0, MAX_FEE)
        self.rate_pct = float(rate_pct)
        self.minimum = float(minimum)
        self._rate = self.rate_pct / 100.0

    def __call__(self, qty: int, price: float) -> float:
        fee = abs(qty) * price * self._rate
        return fee if fee > self.minimum else self.minimum

    def spec(self) -> dict[str, Any]:
        return {"model": "percent", "rate_pct": self.rate_pct, "minimum": self.minimum}


class SlippageModel(ABC):
    """Adjusts a market order's fill price against the trader.

    Limit orders are never slipped: a limit is a price guarantee. Slipped prices are not
    clipped to the bar's range; bar data says nothing about the spread we would have crossed,
    so we err on the side of cost.
    """

    @abstractmethod
    def __call__(self, side: str, price: float, high: float, low: float) -> float: ...

    @abstractmethod
    def spec(self) -> dict[str, Any]: ...


class NoSlippage(SlippageModel):
    def __call__(self, side: str, price: float, high: float, low: float) -> float:
        return price

    def spec(self) -> dict[str, Any]:
        return {"model": "none"}


class FixedBps(SlippageModel):
    """A fixed ``bps`` basis points worse than the reference price."""

    def __init__(self, bps: float = 5.0) -> None:
        check_number("bps", bps, 0.0, MAX_BPS, high_open=True)
        self.bps = float(bps)
        self._up = 1.0 + self.bps / 10_000.0
        self._down = 1.0 - self.bps / 10_000.0

    def __call__(self, side: str, price: float, high: float, low: float) -> float:
        return price * self._up if side == BUY else price * self._down

    def spec(self) -> dict[str, Any]:
        return {"model": "bps", "bps": self.bps}


class RangeFraction(SlippageModel):
    """``fraction`` of the fill bar's high-low range worse than the reference price.

    Scales with intrabar volatility, which is a better proxy for impact in fast markets.
    """

    def __init__(self, fraction: float = 0.1) -> None:
        check_number("fraction", fraction, 0.0, 1.0)
        self.fraction = float(fraction)

    def __call__(self, side: str, price: float, high: float, low: float) -> float:
        slip = (high - low) * self.fraction
        return price + slip if side == BUY else price - slip

    def spec(self) -> dict[str, Any]:
        return {"model": "range", "fraction": self.fraction}


def check_number(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` is a finite int or float within [low, high] (``*_open``: that end excluded).

    Raises CostConfigError naming ``name`` and the accepted range. Bounds keep every cost far
    from float overflow, so a run's equity, trades and metrics stay finite.
    """
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and (not isinstance(value, float) or math.isfinite(value))
        and (value > low if low_open else value >= low)
        and (value < high if high_open else value <= high)
    )
    if not ok:
        lo = f"> {low:g}" if low_open else f">= {low:g}"
        hi = f"< {high:g}" if high_open else f"<= {high:g}"
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise CostConfigError(f"{name} must be a number {lo} and {hi}, got {shown}")


def build_model(kind: str, model: str, cls: type, args: Mapping[str, Any]) -> Any:
    """``cls(**args)``, refusing parameters its constructor does not take by name (listing the
    ones it does) instead of surfacing Python's TypeError."""
    accepted = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    unknown = [str(k) for k in args if k not in accepted]
    if unknown:
        takes = f"accepted: {', '.join(accepted)}" if accepted else "it takes no parameters"
        raise CostConfigError(
            f"{kind} {model!r}: unknown parameter(s) {', '.join(unknown)}; {takes}"
        )
    try:
        return cls(**args)
    except CostConfigError as exc:
        raise CostConfigError(f"{kind} {model!r}: {exc}") from None


def parse_spec(kind: str, spec: Any, table: Mapping[str, type]) -> tuple[str, dict[str, Any]]:
    """(model name, its parameters) of a ``{"model": ..., **params}`` mapping."""
    if not isinstance(spec, Mapping):
        raise CostConfigError(f"{kind} must be a mapping with a 'model' key, got {spec!r}")
    args = dict(spec)
    model = args.pop("model", None)
    if not isinstance(model, str) or model not in table:
        raise CostConfigError(
            f"{kind} model must be one of {', '.join(sorted(table))}, got {model!r}"
        )
    return model, args


def _build(kind: str, spec: Any, table: Mapping[str, type], base: type) -> Any:
    if spec is None:
        return table["none"]()
    if isinstance(spec, base):
        return spec
    model, args = parse_spec(kind, spec, table)
    return build_model(kind, model, table[model], args)


COMMISSION_MODELS: dict[str, type] = {
    "none": NoCommission,
    "per_share": PerShare,
    "percent": Percent,
}
SLIPPAGE_MODELS: dict[str, type] = {"none": NoSlippage, "bps": FixedBps, "range": RangeFraction}


def commission_from_spec(spec: Mapping[str, Any] | CommissionModel | None) -> CommissionModel:
    """``None`` means free; a model instance passes through; a dict names the model."""
    return _build("commission", spec, COMMISSION_MODELS, CommissionModel)


def slippage_from_spec(spec: Mapping[str, Any] | SlippageModel | None) -> SlippageModel:
    """``None`` means no slippage; a model instance passes through; a dict names the model."""
    return _build("slippage", spec, SLIPPAGE_MODELS, SlippageModel)
