"""Seeded synthetic OHLCV bars (geometric Brownian motion) for tests, demos and benchmarks.

Synthetic on purpose: tests must not depend on a market data vendor, and a benchmark needs a
million bars that are the same on every machine. Nothing here resembles any real security.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .metrics import MINUTES_PER_SESSION, TRADING_DAYS

_SESSION_OPEN_NS = (9 * 60 + 30) * 60 * 10**9
_MINUTE_NS = 60 * 10**9


def _timestamps(n: int, freq: str, start: str) -> pd.DatetimeIndex:
    if freq in ("1D", "D", "daily"):
        return pd.bdate_range(start=start, periods=n, name="Date")
    if freq in ("1min", "min", "minute"):
        days = pd.bdate_range(start=start, periods=math.ceil(n / MINUTES_PER_SESSION))
        day_ns = days.as_unit("ns").asi8
        minutes = _SESSION_OPEN_NS + np.arange(MINUTES_PER_SESSION, dtype=np.int64) * _MINUTE_NS
        ts = (day_ns[:, None] + minutes[None, :]).ravel()[:n]
        return pd.DatetimeIndex(ts.astype("datetime64[ns]"), name="Date")
    raise ValueError(f"freq must be '1D' or '1min', got {freq!r}")


def generate_bars(
    n: int = 504,
    freq: str = "1D",
    seed: int = 0,
    start: str = "2022-01-03",
    s0: float = 100.0,
    mu: float = 0.08,
    sigma: float = 0.25,
    base_volume: float = 1_000_000.0,
) -> pd.DataFrame:
    """``n`` bars of GBM with annual drift ``mu`` and volatility ``sigma``.

    Daily bars fall on business days; minute bars on 09:30-16:00 sessions (390 a day),
    naive timestamps read as UTC. Prices are rounded to cents; each bar satisfies
    ``Low <= min(Open, Close) <= max(Open, Close) <= High``. Volume rises with the size of
    the move, so volume-confirmed strategies have something to confirm.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    periods = TRADING_DAYS if freq in ("1D", "D", "daily") else TRADING_DAYS * MINUTES_PER_SESSION
    index = _timestamps(n, freq, start)
    rng = np.random.default_rng(seed)
    dt = 1.0 / periods
    step_sd = sigma * math.sqrt(dt)
    gap = rng.normal(0.0, 0.25 * step_sd, n)
    body = rng.normal((mu - 0.5 * sigma**2) * dt, step_sd, n)
    log_close = math.log(s0) + np.cumsum(gap + body)
    close = np.exp(log_close)
    prev_close = np.concatenate(([s0], close[:-1]))
    open_ = prev_close * np.exp(gap)
    wick_up = np.abs(rng.normal(0.0, 0.5 * step_sd, n))
    wick_dn = np.abs(rng.normal(0.0, 0.5 * step_sd, n))
    open_ = np.round(open_, 2)
    close = np.round(close, 2)
    high = np.round(np.maximum(open_, close) * np.exp(wick_up), 2)
    low = np.round(np.minimum(open_, close) * np.exp(-wick_dn), 2)
    high = np.maximum(high, np.maximum(open_, close))
    low = np.maximum(np.minimum(low, np.minimum(open_, close)), 0.01)
    open_ = np.maximum(open_, 0.01)
    close = np.maximum(close, 0.01)
    high = np.maximum(high, np.maximum(open_, close))
    surprise = np.abs(body) / step_sd
    volume = np.round(base_volume * np.exp(rng.normal(0.0, 0.3, n)) * (0.5 + 0.5 * surprise))
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume},
        index=index,
    )
