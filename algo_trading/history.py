"""Past bars, as numpy arrays, for a strategy to compute on.

The window always ends at the bar being processed (inclusive) and never beyond: this object is
the only route from a strategy to past prices, so it is where look-ahead is ruled out.

* ``ArrayHistory`` (backtest, replay): read-only views into the full arrays behind a cursor the
  engine advances; O(1) per bar, nothing is copied until a strategy asks.
* ``RingHistory`` (live): a fixed-capacity buffer fed one bar at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .models import Bar

FIELDS = ("ts", "open", "high", "low", "close", "volume")


class History(ABC):
    """The last ``size`` bars up to and including the current one, oldest first."""

    size: int

    @abstractmethod
    def tail(self, field: str, n: int) -> np.ndarray:
        """The last ``n`` values of ``field`` (fewer during warm-up), read-only."""

    @abstractmethod
    def __len__(self) -> int: ...

    @property
    def ts(self) -> np.ndarray:
        return self.tail("ts", self.size)

    @property
    def open(self) -> np.ndarray:
        return self.tail("open", self.size)

    @property
    def high(self) -> np.ndarray:
        return self.tail("high", self.size)

    @property
    def low(self) -> np.ndarray:
        return self.tail("low", self.size)

    @property
    def close(self) -> np.ndarray:
        return self.tail("close", self.size)

    @property
    def volume(self) -> np.ndarray:
        return self.tail("volume", self.size)


class ArrayHistory(History):
    """History over arrays that already hold the whole run; ``end`` is advanced by the engine."""

    def __init__(self, arrays: dict[str, np.ndarray], size: int) -> None:
        if size < 1:
            raise ValueError("history size must be >= 1")
        self.size = size
        self._arrays = {}
        for name in FIELDS:
            view = arrays[name].view()
            view.flags.writeable = False
            self._arrays[name] = view
        self.end = 0  # number of bars visible: bars[0:end]

    def __len__(self) -> int:
        return min(self.end, self.size)

    def tail(self, field: str, n: int) -> np.ndarray:
        end = self.end
        n = min(n, self.size) if n > 0 else 0
        start = end - n
        return self._arrays[field][start if start > 0 else 0 : end]


class RingHistory(History):
    """A bounded buffer fed bar by bar (live trading). Amortised O(1) append.

    Stores ``2 * size`` rows and slides the last ``size`` to the front when full, so every
    read is a contiguous view without a copy.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("history size must be >= 1")
        self.size = size
        self._cap = 2 * size
        self._buf = {
            name: np.zeros(self._cap, dtype=np.int64 if name == "ts" else np.float64)
            for name in FIELDS
        }
        self._n = 0  # rows used in the buffer
        self._count = 0  # bars seen in total

    def append(self, bar: Bar) -> None:
        if self._n == self._cap:
            keep = self.size - 1
            for arr in self._buf.values():
                arr[:keep] = arr[self._n - keep : self._n]
            self._n = keep
        i = self._n
        for name, value in zip(FIELDS, bar, strict=True):
            self._buf[name][i] = value
        self._n = i + 1
        self._count += 1

    def __len__(self) -> int:
        return min(self._n, self.size)

    def tail(self, field: str, n: int) -> np.ndarray:
        n = min(n, self.size, self._n)
        view = self._buf[field][self._n - n : self._n]
        view.flags.writeable = False
        return view
