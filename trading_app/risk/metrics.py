"""Risk metrics as pure functions over Decimal series: VaR, drawdown, volatility, position size.

Conventions (docs/risk.md repeats them):
- P&L series are money per period; returns are fractions per period.
- Historical VaR at 95%: minus the 5th percentile of the P&L series, the percentile taken with
  linear interpolation between order statistics (numpy's default): position (1 - 0.95) * (n - 1).
- Parametric VaR at 95%: 1.6449 times the sample standard deviation (n - 1) of the P&L series,
  mean taken as zero (the usual assumption over a one-day horizon).
- A VaR is a loss, reported as a positive amount; a series that never loses gives 0.
- Series of shorter periods scale to one day by the square root of the periods per day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

ZERO = Decimal("0")
Z_95 = Decimal("1.6449")
CONFIDENCE = Decimal("0.95")


def percentile(values: Sequence[Decimal], q: Decimal) -> Decimal:
    """The q-quantile (0..1) with linear interpolation between order statistics."""
    if not values:
        raise ValueError("percentile of an empty series")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    lower = int(position)
    fraction = position - lower
    if lower + 1 >= len(ordered):
        return ordered[lower]
    return ordered[lower] + (ordered[lower + 1] - ordered[lower]) * fraction


def stdev(values: Sequence[Decimal]) -> Decimal:
    """Sample standard deviation (n - 1)."""
    n = len(values)
    if n < 2:
        raise ValueError("standard deviation needs at least two values")
    mean = sum(values, ZERO) / n
    variance = sum(((v - mean) ** 2 for v in values), ZERO) / (n - 1)
    return variance.sqrt()


def historical_var(pnl: Sequence[Decimal], confidence: Decimal = CONFIDENCE) -> Decimal:
    """Loss not exceeded with `confidence`, read off the P&L series itself."""
    loss = -percentile(pnl, 1 - confidence)
    return loss if loss > 0 else ZERO


def parametric_var(pnl: Sequence[Decimal], z: Decimal = Z_95) -> Decimal:
    """Normal (variance) VaR with zero mean: z * sigma."""
    return z * stdev(pnl)


def scale_to_day(value: Decimal, periods_per_day: int | Decimal) -> Decimal:
    """Square-root-of-time scaling from one period to one day."""
    return value * Decimal(periods_per_day).sqrt()


def simple_returns(prices: Sequence[Decimal]) -> list[Decimal]:
    return [prices[i] / prices[i - 1] - 1 for i in range(1, len(prices)) if prices[i - 1]]


def differences(values: Sequence[Decimal]) -> list[Decimal]:
    return [values[i] - values[i - 1] for i in range(1, len(values))]


@dataclass(frozen=True)
class Drawdown:
    amount: Decimal  # peak minus trough, money
    pct: Decimal  # as a percentage of the peak
    peak: Decimal | None
    trough: Decimal | None
    peak_at: datetime | None
    trough_at: datetime | None


def max_drawdown(series: Sequence[tuple[datetime, Decimal]]) -> Drawdown:
    """The largest fall from a running peak to a later low, in money and in % of that peak."""
    best = Drawdown(ZERO, ZERO, None, None, None, None)
    peak: Decimal | None = None
    peak_at = None
    for at, value in series:
        if peak is None or value > peak:
            peak, peak_at = value, at
            continue
        fall = peak - value
        if fall > best.amount:
            pct = fall * 100 / peak if peak > 0 else ZERO
            best = Drawdown(fall, pct, peak, value, peak_at, at)
    return best


def portfolio_pnl(
    weights: dict[int, Decimal], returns: dict[int, Sequence[Decimal]]
) -> list[Decimal]:
    """Scenario P&L per period: sum over instruments of value held * that period's return.

    `returns` are aligned series of equal length (one value per common period)."""
    lengths = {len(r) for r in returns.values()}
    if not lengths:
        return []
    n = min(lengths)
    return [
        sum((w * returns[i][k] for i, w in weights.items() if i in returns), ZERO) for k in range(n)
    ]


def suggested_size(
    equity: Decimal, risk_pct: Decimal, price: Decimal, daily_vol: Decimal, z: Decimal = Z_95
) -> int:
    """Shares whose one-day 95% VaR (z * vol * price per share) equals risk_pct% of equity."""
    per_share = z * daily_vol * price
    if per_share <= 0 or equity <= 0:
        return 0
    return int(math.floor(equity * risk_pct / 100 / per_share))
