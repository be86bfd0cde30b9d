"""Small builders for hand-made bar series."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def make_bars(
    closes: Sequence[float],
    opens: Sequence[float] | None = None,
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    volumes: Sequence[float] | float = 1000.0,
    start: str = "2024-01-01",
    freq: str = "B",
) -> pd.DataFrame:
    """Daily bars; by default open = high = low = close, so fills are easy to predict."""
    c = np.asarray(closes, dtype=float)
    o = np.asarray(opens, dtype=float) if opens is not None else c.copy()
    h = np.asarray(highs, dtype=float) if highs is not None else np.maximum(o, c)
    lo = np.asarray(lows, dtype=float) if lows is not None else np.minimum(o, c)
    v = np.broadcast_to(np.asarray(volumes, dtype=float), c.shape).copy()
    index = pd.date_range(start, periods=len(c), freq=freq, name="Date")
    return pd.DataFrame({"Open": o, "High": h, "Low": lo, "Close": c, "Volume": v}, index=index)


def random_walk(n: int, seed: int, s0: float = 100.0, vol: float = 0.01) -> pd.DataFrame:
    """Random walk bars with gaps and wicks, prices rounded to cents."""
    rng = np.random.default_rng(seed)
    close = np.round(s0 * np.exp(np.cumsum(rng.normal(0, vol, n))), 2)
    prev = np.concatenate(([s0], close[:-1]))
    opens = np.round(prev * np.exp(rng.normal(0, vol / 4, n)), 2)
    highs = np.round(np.maximum(opens, close) * (1 + np.abs(rng.normal(0, vol / 2, n))), 2)
    lows = np.round(np.minimum(opens, close) * (1 - np.abs(rng.normal(0, vol / 2, n))), 2)
    highs = np.maximum(highs, np.maximum(opens, close))
    lows = np.minimum(lows, np.minimum(opens, close))
    vols = np.round(rng.lognormal(10, 0.5, n))
    return make_bars(close, opens, highs, lows, vols)
