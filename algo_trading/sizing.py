"""Position sizing: how many shares a strategy's "go long/short" means.

Strategies decide direction; sizers decide quantity, so one strategy can be run all-in, with a
fixed lot, or volatility-targeted without code changes. A sizer sees only the decision bar's
close, current equity and past closes, never the fill price: the fill happens a bar later.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from .costs import CostConfigError


class Sizer(ABC):
    """Turns (price, equity, past closes) into a non-negative share quantity."""

    #: how many trailing closes ``quantity`` needs (the history keeps at least this many)
    window: int = 1

    def bind(self, periods_per_year: float) -> None:  # noqa: B027 - optional hook, no-op default
        """Told the bar frequency before a run; only volatility targeting needs it."""

    @abstractmethod
    def quantity(self, price: float, equity: float, closes: np.ndarray) -> int: ...

    @abstractmethod
    def spec(self) -> dict[str, Any]: ...


class FixedQuantity(Sizer):
    """Always the same number of shares."""

    def __init__(self, quantity: int = 100) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise CostConfigError(f"quantity must be a positive int, got {quantity!r}")
        self.qty = quantity

    def quantity(self, price: float, equity: float, closes: np.ndarray) -> int:
        return self.qty

    def spec(self) -> dict[str, Any]:
        return {"model": "fixed", "quantity": self.qty}


class FractionOfEquity(Sizer):
    """``fraction`` of current equity at the decision bar's close, rounded down to shares.

    The order fills at the next open, so a gap can make the position cost slightly more than
    ``fraction`` of equity; the backtester lets cash go slightly negative rather than
    second-guess the order (see docs/strategies.md).
    """

    def __init__(self, fraction: float = 1.0) -> None:
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise CostConfigError(f"fraction must be a number, got {fraction!r}")
        if not 0 < fraction <= 10:
            raise CostConfigError(f"fraction must be in (0, 10], got {fraction!r}")
        self.fraction = float(fraction)

    def quantity(self, price: float, equity: float, closes: np.ndarray) -> int:
        if equity <= 0.0 or price <= 0.0:
            return 0
        return math.floor(equity * self.fraction / price)

    def spec(self) -> dict[str, Any]:
        return {"model": "fraction", "fraction": self.fraction}


class VolatilityTarget(Sizer):
    """Size so the position's annualised volatility is ``target_pct`` percent of equity.

    Realised volatility is the sample std of the last ``lookback`` log returns, annualised
    with the run's bar frequency; leverage is capped at ``max_leverage``. With fewer than two
    returns (warm-up) the answer is 0: we do not size blind.
    """

    def __init__(
        self, target_pct: float = 15.0, lookback: int = 20, max_leverage: float = 1.0
    ) -> None:
        if not isinstance(target_pct, int | float) or not target_pct > 0:
            raise CostConfigError(f"target_pct must be a positive number, got {target_pct!r}")
        if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 2:
            raise CostConfigError(f"lookback must be an int >= 2, got {lookback!r}")
        if not isinstance(max_leverage, int | float) or not max_leverage > 0:
            raise CostConfigError(f"max_leverage must be a positive number, got {max_leverage!r}")
        self.target_pct = float(target_pct)
        self.lookback = lookback
        self.max_leverage = float(max_leverage)
        self.window = lookback + 1
        self._sqrt_periods = math.sqrt(252.0)

    def bind(self, periods_per_year: float) -> None:  # noqa: B027 - optional hook, no-op default
        self._sqrt_periods = math.sqrt(periods_per_year)

    def quantity(self, price: float, equity: float, closes: np.ndarray) -> int:
        if equity <= 0.0 or price <= 0.0 or len(closes) < 3:
            return 0
        rets = np.diff(np.log(closes[-self.window :]))
        vol = float(np.std(rets, ddof=1)) * self._sqrt_periods
        if not vol > 0.0:
            leverage = self.max_leverage
        else:
            leverage = min(self.target_pct / 100.0 / vol, self.max_leverage)
        return math.floor(equity * leverage / price)

    def spec(self) -> dict[str, Any]:
        return {
            "model": "volatility",
            "target_pct": self.target_pct,
            "lookback": self.lookback,
            "max_leverage": self.max_leverage,
        }


SIZERS: dict[str, type] = {
    "fixed": FixedQuantity,
    "fraction": FractionOfEquity,
    "volatility": VolatilityTarget,
}


def sizer_from_spec(spec: Mapping[str, Any] | Sizer | None) -> Sizer:
    """``None`` means all-in (fraction 1.0); a Sizer passes through; a dict names the model."""
    if spec is None:
        return FractionOfEquity(1.0)
    if isinstance(spec, Sizer):
        return spec
    if not isinstance(spec, Mapping):
        raise CostConfigError(f"sizing must be a mapping with a 'model' key, got {spec!r}")
    args = dict(spec)
    model = args.pop("model", None)
    if model not in SIZERS:
        raise CostConfigError(f"sizing model must be one of {', '.join(SIZERS)}, got {model!r}")
    try:
        return SIZERS[model](**args)
    except TypeError as exc:
        raise CostConfigError(f"sizing {model!r}: {exc}") from None
