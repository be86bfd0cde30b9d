"""Moving averages in two forms that agree bit for bit: incremental (O(1) per bar) and arrays.

The event-driven engine updates an indicator once per bar; the vectorised engine computes the
whole series at once. For the two engines to produce the *same trades*, a crossover decided on
``fast > slow`` must see identical floats in both, so each pair below performs the same IEEE
operations in the same order:

* SMA: a running cumulative sum; the mean is ``(cs[t] - cs[t-n]) / n``, which is exactly what
  ``np.cumsum`` (a sequential accumulation) gives. No drift from add/subtract updates either:
  the error is bounded by the rounding of the cumulative sum.
* EMA: ``e = alpha * x + (1 - alpha) * e``, seeded with the first value. numpy has no exact
  sequential form of this recurrence, so the array version is a tight Python loop (still
  ~10M values/s); SMA is the fully vectorised default.

Both report NaN until ``n`` values have been seen, so warm-up is identical too.
"""

from __future__ import annotations

import math

import numpy as np

NAN = math.nan


class SMA:
    """Incremental simple moving average over the last ``n`` values."""

    __slots__ = ("n", "_ring", "_j", "_cs", "_count", "value")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("SMA length must be >= 1")
        self.n = n
        self._ring = [0.0] * n  # cumulative sums of the last n updates
        self._j = 0
        self._cs = 0.0
        self._count = 0
        self.value = NAN

    def update(self, x: float) -> float:
        cs = self._cs + x
        self._cs = cs
        j = self._j
        old = self._ring[j]
        self._ring[j] = cs
        j += 1
        self._j = 0 if j == self.n else j
        if self._count < self.n:
            self._count += 1
            if self._count < self.n:
                return NAN
        value = (cs - old) / self.n
        self.value = value
        return value


class EMA:
    """Incremental exponential moving average, ``alpha = 2 / (n + 1)``, seeded with x0."""

    __slots__ = ("n", "alpha", "beta", "_e", "_count", "value")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("EMA length must be >= 1")
        self.n = n
        self.alpha = 2.0 / (n + 1)
        self.beta = 1.0 - self.alpha
        self._e = NAN
        self._count = 0
        self.value = NAN

    def update(self, x: float) -> float:
        e = self._e
        if e != e:  # first value seeds the average
            e = x
        e = self.alpha * x + self.beta * e
        self._e = e
        if self._count < self.n:
            self._count += 1
            if self._count < self.n:
                return NAN
        self.value = e
        return e


def sma(values: np.ndarray, n: int) -> np.ndarray:
    """Array SMA, identical to feeding ``SMA(n).update`` value by value."""
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape[0], np.nan)
    if n < 1:
        raise ValueError("SMA length must be >= 1")
    if x.shape[0] < n:
        return out
    cs = np.cumsum(x)
    out[n - 1] = cs[n - 1] / n
    out[n:] = (cs[n:] - cs[:-n]) / n
    return out


def ema(values: np.ndarray, n: int) -> np.ndarray:
    """Array EMA, identical to feeding ``EMA(n).update`` value by value."""
    if n < 1:
        raise ValueError("EMA length must be >= 1")
    xs = np.asarray(values, dtype=np.float64).tolist()
    out = np.full(len(xs), np.nan)
    if not xs:
        return out
    alpha = 2.0 / (n + 1)
    beta = 1.0 - alpha
    e = xs[0]
    result = []
    append = result.append
    for x in xs:
        e = alpha * x + beta * e
        append(e)
    out[:] = result
    out[: n - 1] = np.nan
    return out


def moving_average(values: np.ndarray, n: int, kind: str) -> np.ndarray:
    if kind == "sma":
        return sma(values, n)
    if kind == "ema":
        return ema(values, n)
    raise ValueError(f"unknown moving average kind {kind!r}")


def make_moving_average(n: int, kind: str) -> SMA | EMA:
    if kind == "sma":
        return SMA(n)
    if kind == "ema":
        return EMA(n)
    raise ValueError(f"unknown moving average kind {kind!r}")
