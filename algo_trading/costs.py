"""Trading costs: commission and slippage models.

Both are small callables so the event-driven and the vectorised engines share them bit for bit
(same inputs, same float operations, same trades). Each has ``spec()`` for reports and a
``*_from_spec`` constructor for the dicts that arrive from the API/CLI, e.g.
``{"model": "per_share", "rate": 0.005, "minimum": 1.0}``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from .models import BUY


class CostConfigError(ValueError):
    """A commission/slippage/sizing spec is malformed."""


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
        _non_negative("rate", rate)
        _non_negative("minimum", minimum)
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
        _non_negative("rate_pct", rate_pct)
        _non_negative("minimum", minimum)
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
        _non_negative("bps", bps)
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
        _non_negative("fraction", fraction)
        if fraction > 1:
            raise CostConfigError(f"fraction must be between 0 and 1, got {fraction!r}")
        self.fraction = float(fraction)

    def __call__(self, side: str, price: float, high: float, low: float) -> float:
        slip = (high - low) * self.fraction
        return price + slip if side == BUY else price - slip

    def spec(self) -> dict[str, Any]:
        return {"model": "range", "fraction": self.fraction}


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise CostConfigError(f"{name} must be a non-negative number, got {value!r}")


def _build(kind: str, spec: Any, table: Mapping[str, type], base: type) -> Any:
    if spec is None:
        return table["none"]()
    if isinstance(spec, base):
        return spec
    if not isinstance(spec, Mapping):
        raise CostConfigError(f"{kind} must be a mapping with a 'model' key, got {spec!r}")
    args = dict(spec)
    model = args.pop("model", None)
    if model not in table:
        raise CostConfigError(
            f"{kind} model must be one of {', '.join(sorted(table))}, got {model!r}"
        )
    try:
        return table[model](**args)
    except TypeError as exc:
        raise CostConfigError(f"{kind} {model!r}: {exc}") from None


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
