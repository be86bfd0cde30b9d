"""Validated ticks out to the world: the `prices.<SYMBOL>` groups and the feed's quote cache.

One place does the rounding to the instrument's tick, the validation and the bookkeeping, so that
every provider's output looks the same to the consumers and to `POST /api/market-data/`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from trading_app.groups import prices_group
from trading_app.market_data.history import PriceHistory, history_key
from trading_app.market_data.ticks import Tick, quantize_to_tick
from trading_app.market_data.validation import TickValidator
from trading_app.services.market_data import FEED_STATUS_KEY, feed_quote_key

log = logging.getLogger("tradingsim.feed")


class TickPublisher:
    """Rounds, validates, then group_sends each tick and caches it as the symbol's feed quote."""

    def __init__(
        self,
        tick_sizes: Mapping[str, Decimal],
        *,
        validator: TickValidator | None = None,
        layer: Any = None,
        cache: Any = None,
        quote_ttl: int | None = 3600,
        history_seconds: float | None = None,
    ) -> None:
        if layer is None:
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.tick_sizes = dict(tick_sizes)
        self.validator = validator or TickValidator()
        self.layer = layer
        self.cache = cache
        self.quote_ttl = quote_ttl
        self.published = 0
        self.volume: dict[str, int] = {}
        self.last: dict[str, Tick] = {}
        if history_seconds is None:
            from django.conf import settings

            history_seconds = float(getattr(settings, "PRICE_MA_WINDOW_SECONDS", 300))
        self.history = PriceHistory(history_seconds)

    def _rounded(self, tick: Tick) -> Tick:
        size = self.tick_sizes.get(tick.symbol)
        if size is None or not tick.price.is_finite():
            return tick
        fix = {"price": quantize_to_tick(tick.price, size)}
        for name in ("bid", "ask"):
            value = getattr(tick, name)
            if value is not None and value.is_finite():
                fix[name] = quantize_to_tick(value, size)
        return dataclasses.replace(tick, **fix)

    async def publish(self, ticks: Iterable[Tick]) -> list[Tick]:
        """Publish the valid ticks; return them (the dropped ones are counted by the validator)."""
        accepted = [t for t in map(self._rounded, ticks) if self.validator.accept(t)]
        if not accepted:
            return accepted
        quotes = {}
        closed = set()
        for tick in accepted:
            total = self.volume.get(tick.symbol, 0) + tick.volume
            self.volume[tick.symbol] = total
            self.last[tick.symbol] = tick
            quotes[feed_quote_key(tick.symbol)] = tick.quote(total)
            if self.history.add(tick.symbol, tick.price, tick.timestamp.timestamp()):
                closed.add(tick.symbol)
        for symbol in closed:
            quotes[history_key(symbol)] = self.history.buckets(symbol)
        # The subscribers first (the tick's timestamp is its publish time), then the cache
        # that late joiners and `POST /api/market-data/` read.
        await asyncio.gather(
            *(self.layer.group_send(prices_group(t.symbol), t.message()) for t in accepted)
        )
        await self.cache.aset_many(quotes, self.quote_ttl)
        self.published += len(accepted)
        return accepted

    def status_message(self, status: dict) -> dict:
        """The `feed.status` message: the feed's state plus the publish and drop counters."""
        return {
            "type": "feed.status",
            "timestamp": datetime.now(UTC).isoformat(),
            **status,
            **self.counters(),
        }

    async def publish_status(self, status: dict, symbols: Iterable[str]) -> None:
        """Cache the feed status and show it on every symbol's price stream."""
        message = self.status_message(status)
        await self.cache.aset(FEED_STATUS_KEY, message, None)
        await asyncio.gather(*(self.layer.group_send(prices_group(s), message) for s in symbols))

    async def store_status(self, status: dict) -> None:
        """Refresh the cached status (counters) without a message on the streams."""
        await self.cache.aset(FEED_STATUS_KEY, self.status_message(status), None)

    def counters(self) -> dict:
        return {"published": self.published, **self.validator.counters()}
