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

from .costs import CostConfigError, build_model, check_number, parse_spec

#: the most shares a fixed lot may be (the exchange's order limit too)
MAX_QUANTITY = 1_000_000_000
#: the most leverage a sizer may ask for (fraction of equity, volatility target)
MAX_LEVERAGE = 10.0
#: volatility targeting: the highest annual target (percent) and the longest lookback (bars)
MAX_TARGET_PCT = 1000.0
MAX_LOOKBACK = 100_000


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
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_QUANTITY
        ):
            raise CostConfigError(
                f"quantity must be a whole number of shares from 1 to {MAX_QUANTITY}, "
                f"got {quantity!r}"
            )
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
        check_number("fraction", fraction, 0.0, MAX_LEVERAGE, low_open=True)
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
        check_number("target_pct", target_pct, 0.0, MAX_TARGET_PCT, low_open=True)
        if (
            isinstance(lookback, bool)
            or not isinstance(lookback, int)
            or not 2 <= lookback <= MAX_LOOKBACK
        ):
            raise CostConfigError(
                f"lookback must be an int from 2 to {MAX_LOOKBACK}, got {lookback!r}"
            )
        check_number("max_leverage", max_leverage, 0.0, MAX_LEVERAGE, low_open=True)
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
    model, args = parse_spec("sizing", spec, SIZERS)
    return build_model("sizing", model, SIZERS[model], args)
