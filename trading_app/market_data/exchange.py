"""The exchange's own prices: last trade, best bid and ask, as the matching worker caches them.

The worker writes `quote:<SYMBOL>` after each batch that touches a symbol (docs/architecture.md).
A tick is emitted only when a trade happened (the last price or the volume changed): a book-only
change moves bid/ask but is not a price print, and no trades for a while is what makes this
source go stale so that the failover feed can fall back to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trading_app.market_data.base import MarketDataProvider
from trading_app.market_data.ticks import Tick, parse_timestamp, to_decimal
from trading_app.services.market_data import quote_key


class ExchangeProvider(MarketDataProvider):
    name = "exchange"

    def __init__(self, *, interval: float = 0.5, cache: Any = None) -> None:
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.interval = interval
        self.cache = cache
        self._seen: dict[str, tuple[str, int]] = {}

    def ticks_from(self, quotes: dict[str, dict]) -> list[Tick]:
        """Ticks for the quotes whose last price or volume changed since the previous call."""
        ticks = []
        for symbol, quote in quotes.items():
            price = to_decimal(quote["price"])
            volume = int(quote.get("volume") or 0)
            marker = (quote["price"], volume)
            previous = self._seen.get(symbol)
            if previous == marker or price is None:
                continue
            self._seen[symbol] = marker
            traded = volume - previous[1] if previous and volume >= previous[1] else volume
            ticks.append(
                Tick(
                    symbol=symbol,
                    price=price,
                    timestamp=parse_timestamp(quote["timestamp"]),
                    source=self.name,
                    volume=traded,
                    bid=to_decimal(quote.get("bid")),
                    ask=to_decimal(quote.get("ask")),
                )
            )
        return ticks

    async def fetch(self, symbols: Sequence[str]) -> list[Tick]:
        # Django's async cache API runs the (possibly Redis) call off the event loop.
        keys = {quote_key(s): s for s in symbols}
        found = await self.cache.aget_many(list(keys))
        # No last price yet means no trade yet: nothing to print.
        quotes = {keys[k]: q for k, q in found.items() if q and q.get("price") is not None}
        return self.ticks_from(quotes)
