"""Time bars built from a stream of trade and tick prices, for strategies that think in bars.

A bar covers ``[start, start + seconds)`` of the receiving clock and is stamped with its start,
like a daily bar is stamped with its date. It is complete once that interval has passed: either
an observation of a later interval arrives or the timer (``close_due``) notices. Intervals with
no observation produce no bar: an empty interval has no honest open or close, and the backtest
never sees invented bars either.
"""

from __future__ import annotations

from ..models import Bar


class BarBuilder:
    """OHLCV accumulator over fixed wall-clock intervals."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"bar seconds must be positive, got {seconds!r}")
        self.seconds = seconds
        self.period_ns = max(int(round(seconds * 1e9)), 1)
        self._bucket: int | None = None
        self._open = self._high = self._low = self._close = 0.0
        self._volume = 0.0
        self.bars = 0

    @property
    def building(self) -> bool:
        return self._bucket is not None

    def add(self, ts_ns: int, price: float, volume: float = 0.0) -> Bar | None:
        """Fold in one observation; return the bar it completed, if it opened a new interval."""
        bucket = ts_ns // self.period_ns
        closed = None
        if self._bucket is not None and bucket > self._bucket:
            closed = self._emit()
        if self._bucket is None:
            self._bucket = bucket
            self._open = self._high = self._low = self._close = price
            self._volume = volume
            return closed
        # an observation stamped a little in the past (clock skew) joins the current bar
        if price > self._high:
            self._high = price
        if price < self._low:
            self._low = price
        self._close = price
        self._volume += volume
        return closed

    def close_due(self, now_ns: int) -> Bar | None:
        """The current bar, if its interval has ended by ``now_ns``."""
        if self._bucket is not None and now_ns // self.period_ns > self._bucket:
            return self._emit()
        return None

    def next_close_ns(self) -> int | None:
        """When the bar being built is complete (None when nothing is being built)."""
        return None if self._bucket is None else (self._bucket + 1) * self.period_ns

    def _emit(self) -> Bar:
        bar = Bar(
            self._bucket * self.period_ns,
            self._open,
            self._high,
            self._low,
            self._close,
            self._volume,
        )
        self._bucket = None
        self.bars += 1
        return bar
