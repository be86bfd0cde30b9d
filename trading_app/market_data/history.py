"""Each symbol's recent prices in per-second buckets, for a moving average that starts warm.

The /ws/stocks/ statistics run in the web process, on the ticks it receives, and it receives a
symbol's ticks only while a client there follows the symbol. So the feed keeps the last window
of its own ticks as (second, sum of prices, count) buckets in the cache, rewritten at most once
a second per symbol (when a second closes), and a first subscriber's process backfills its
moving average from them (websocket_app.price_stats.PriceStats.backfill): the first frame shows
the 5-minute average, not the last price.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

HISTORY_KEY = "price_history:{}"


def history_key(symbol: str) -> str:
    return HISTORY_KEY.format(symbol)


class PriceHistory:
    """Per-symbol buckets over the last `window` seconds; `add` says when one has closed."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._closed: dict[str, deque[tuple[int, Decimal, int]]] = {}
        self._open: dict[str, list] = {}  # symbol -> [second, sum, count]

    def add(self, symbol: str, price: Decimal, at: float) -> bool:
        """Count a published tick; True if it closed the symbol's previous second."""
        second = int(at)
        current = self._open.get(symbol)
        if current is None:
            self._open[symbol] = [second, price, 1]
            return False
        if second <= current[0]:  # same second (or a clock step back: counts as now)
            current[1] += price
            current[2] += 1
            return False
        closed = self._closed.setdefault(symbol, deque())
        closed.append((current[0], current[1], current[2]))
        while closed and closed[0][0] < second - self.window:
            closed.popleft()
        self._open[symbol] = [second, price, 1]
        return True

    def buckets(self, symbol: str) -> list[tuple[int, Decimal, int]]:
        """The closed buckets of a symbol, oldest first (what the cache holds)."""
        return list(self._closed.get(symbol, ()))
