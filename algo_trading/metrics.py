"""Performance statistics of an equity curve and a trade list.

Definitions (also in docs/strategies.md). ``E_t`` is equity at bar t's close, ``E_-1`` the
starting cash, ``r_t = E_t / E_(t-1) - 1`` the per-bar returns, ``P`` the bars per year.

* total_return_pct: ``(E_last / cash - 1) * 100``
* cagr_pct: ``((E_last / cash) ** (1 / years) - 1) * 100`` with ``years = bars / P``
* volatility_pct: ``std(r, ddof=1) * sqrt(P) * 100``
* sharpe: ``mean(r - rf/P) / std(r, ddof=1) * sqrt(P)`` (rf = 0 by default)
* sortino: ``mean(r - rf/P) / sqrt(mean(min(r - rf/P, 0) ** 2)) * sqrt(P)``
* max_drawdown_pct: ``min(E / cummax(E) - 1) * 100`` (<= 0: -25 means a 25% fall)
* max_drawdown_duration_bars: the longest run of bars closing below a previous equity peak;
  _days: calendar days from that peak to the first bar back at or above it (or to the last
  bar if it never recovered)
* win_rate_pct, profit_factor (gross profit / gross loss), num_trades: closed trades only
* exposure_pct: share of bars closing with a non-zero position
* buy_hold_return_pct: ``(close_last / close_first - 1) * 100``

**Ruin.** Costs can take equity to zero or below (a huge commission, shorting into a rally);
the account is then finished. ``r_t`` stops at the bar that ruined it, counted as -100%: past
that point ``E_t / E_(t-1) - 1`` of two negative equities has the wrong sign (a growing loss
would read as a gain and flatter the Sharpe). Volatility, Sharpe and Sortino use those returns;
total return, drawdown and final equity keep the plain arithmetic (-200 means twice the cash
lost).

Undefined values (no trades, zero volatility, no losing trade for profit factor) are ``None``,
and so is any value that is not a finite number: results are always valid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .ledger import Trade

DAY_NS = 86_400 * 10**9
#: every key compute_metrics returns (the API contract), in report order
METRIC_KEYS = (
    "total_return_pct",
    "cagr_pct",
    "volatility_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_days",
    "num_trades",
    "win_rate_pct",
    "profit_factor",
    "avg_trade_pnl",
    "exposure_pct",
    "buy_hold_return_pct",
    "final_equity",
    "total_commission",
    "periods_per_year",
)
MINUTES_PER_SESSION = 390  # US equities regular session, 09:30-16:00
TRADING_DAYS = 252


def infer_periods_per_year(ts: np.ndarray) -> float:
    """Bars per year from the median bar spacing.

    Daily (or business-daily) bars give 252; weekly 52; monthly 12; intraday bars of m minutes
    give 252 * 390 / m (a 6.5-hour session). Pass ``periods_per_year`` explicitly for markets
    that trade around the clock.
    """
    if len(ts) < 2:
        return float(TRADING_DAYS)
    step = float(np.median(np.diff(ts.astype(np.int64))))
    if step <= 0:
        return float(TRADING_DAYS)
    days = step / DAY_NS
    if days >= 20:
        return 12.0
    if days >= 5:
        return 52.0
    if days >= 0.75:
        return float(TRADING_DAYS)
    minutes = step / (60 * 10**9)
    return TRADING_DAYS * MINUTES_PER_SESSION / minutes


def _finite_or_none(x: float, digits: int = 4) -> float | None:
    return round(float(x), digits) if math.isfinite(x) else None


def json_safe(value: Any) -> Any:
    """``value`` with every float that is not finite (inf, NaN) replaced by None, recursively
    through dicts, lists and tuples: strict JSON (and the database's JSON columns) refuse them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def period_returns(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """Per-bar returns ``E_t / E_(t-1) - 1``, ending at ruin (the first bar with equity <= 0,
    whose return is -100%); see the module docstring."""
    ruined = np.flatnonzero(equity <= 0)
    curve = equity[: ruined[0] + 1] if ruined.size else equity
    prev = np.concatenate(([initial_cash], curve[:-1]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rets = np.where(prev > 0, curve / prev - 1.0, 0.0)
    if ruined.size:
        rets[-1] = -1.0
    return rets


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Fractional drawdown from the running peak at each bar (<= 0)."""
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, equity / peak - 1.0, 0.0)
    return dd


def _max_underwater(underwater: np.ndarray, ts: np.ndarray) -> tuple[int, float]:
    """Longest run of underwater bars, in bars and calendar days (peak to recovery)."""
    if not underwater.any():
        return 0, 0.0
    x = np.concatenate(([False], underwater, [False])).astype(np.int8)
    d = np.diff(x)
    starts = np.flatnonzero(d == 1)  # first underwater bar
    ends = np.flatnonzero(d == -1)  # first bar back at the peak (may be len: never)
    lengths = ends - starts
    k = int(np.argmax(lengths))
    bars = int(lengths[k])
    peak_bar = max(starts[k] - 1, 0)
    end_bar = min(ends[k], len(ts) - 1)
    days = float(ts[end_bar] - ts[peak_bar]) / DAY_NS
    return bars, days


def compute_metrics(
    equity: np.ndarray,
    position: np.ndarray,
    close: np.ndarray,
    ts: np.ndarray,
    trades: Sequence[Trade],
    initial_cash: float,
    periods_per_year: float,
    risk_free_rate: float = 0.0,
    total_commission: float = 0.0,
) -> dict[str, Any]:
    """All headline metrics as a JSON-ready dict (percent values are in percent)."""
    n = len(equity)
    metrics: dict[str, Any] = {}
    if n == 0:
        raise ValueError("cannot compute metrics of an empty run")
    final = float(equity[-1])
    growth = final / initial_cash
    metrics["total_return_pct"] = _finite_or_none((growth - 1.0) * 100.0)
    years = n / periods_per_year
    if growth > 0 and years > 0:
        try:
            cagr = (growth ** (1.0 / years) - 1.0) * 100.0
        except OverflowError:  # a few short bars annualised: beyond float64, undefined
            cagr = math.inf
        metrics["cagr_pct"] = _finite_or_none(cagr)
    else:
        metrics["cagr_pct"] = -100.0 if growth <= 0 else None

    rets = period_returns(equity, initial_cash)
    excess = rets - risk_free_rate / periods_per_year
    root = math.sqrt(periods_per_year)
    with np.errstate(over="ignore", invalid="ignore"):
        std = float(np.std(rets, ddof=1)) if len(rets) > 1 else float("nan")
        mean_excess = float(np.mean(excess))
        downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
    metrics["volatility_pct"] = _finite_or_none(std * root * 100.0)
    metrics["sharpe"] = _finite_or_none(mean_excess / std * root) if std > 0 else None
    metrics["sortino"] = _finite_or_none(mean_excess / downside * root) if downside > 0 else None

    dd = drawdown(equity)
    metrics["max_drawdown_pct"] = _finite_or_none(float(dd.min()) * 100.0)
    bars, days = _max_underwater(dd < 0, ts)
    metrics["max_drawdown_duration_bars"] = bars
    metrics["max_drawdown_duration_days"] = round(days, 2)

    pnl = np.array([t.pnl for t in trades], dtype=np.float64)
    metrics["num_trades"] = len(trades)
    if len(trades):
        wins = pnl[pnl > 0]
        losses = pnl[pnl < 0]
        metrics["win_rate_pct"] = round(len(wins) / len(trades) * 100.0, 4)
        with np.errstate(over="ignore", invalid="ignore"):
            gross_win, gross_loss = float(wins.sum()), -float(losses.sum())
            mean_pnl = float(pnl.mean())
        metrics["profit_factor"] = (
            _finite_or_none(gross_win / gross_loss) if gross_loss > 0 else None
        )
        metrics["avg_trade_pnl"] = _finite_or_none(mean_pnl, 2)
    else:
        metrics["win_rate_pct"] = None
        metrics["profit_factor"] = None
        metrics["avg_trade_pnl"] = None
    metrics["exposure_pct"] = round(float(np.count_nonzero(position)) / n * 100.0, 4)
    metrics["buy_hold_return_pct"] = round((float(close[-1]) / float(close[0]) - 1.0) * 100.0, 4)
    metrics["final_equity"] = _finite_or_none(final, 2)
    metrics["periods_per_year"] = _finite_or_none(float(periods_per_year))
    metrics["total_commission"] = _finite_or_none(float(total_commission), 2)
    return json_safe({key: metrics[key] for key in METRIC_KEYS})
