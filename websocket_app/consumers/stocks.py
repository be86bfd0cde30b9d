"""/ws/stocks/<ticker>/: a ticker's live price with its moving average and move alerts.

Joins the channel layer group `prices.<SYMBOL>` that the price feed publishes to (contract in
docs/architecture.md; messages in docs/websocket.md). Lean on purpose: a price tick costs no
database access and no thread hop, and the statistics and the encoded frames are shared by every
subscriber of the ticker in this process (websocket_app.price_stats.PriceStreamHub).
"""

from __future__ import annotations

import logging
import re

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache

from trading_app.market_data.ticks import prices_group
from trading_app.services.market_data import choose_quote, feed_quote_key, quote_key
from websocket_app.price_stats import get_hub

log = logging.getLogger("tradingsim.ws.stocks")

#: close code for a ticker that is not listed (4000-4999: application-defined)
CLOSE_UNKNOWN_SYMBOL = 4404
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")


@database_sync_to_async
def _is_listed(symbol: str) -> bool:
    from trading_app.selectors.instruments import instrument_spec

    return instrument_spec(symbol) is not None


def _frame(message: dict) -> str:
    return orjson.dumps(message).decode()


class StockPriceConsumer(AsyncWebsocketConsumer):
    """Server → client: `price`, `alert`, `feed.status`; client → server: `ping`, `latest`."""

    symbol: str | None = None

    async def connect(self) -> None:
        raw = str(self.scope["url_route"]["kwargs"].get("ticker", ""))
        symbol = raw.strip().upper()
        if not SYMBOL_RE.match(symbol) or not await _is_listed(symbol):
            # Accept first so that the client can read why before the close.
            await self.accept()
            await self.send(
                text_data=_frame(
                    {
                        "type": "error",
                        "code": "unknown_symbol",
                        "message": f"unknown ticker {raw!r}: no such instrument",
                    }
                )
            )
            await self.close(code=CLOSE_UNKNOWN_SYMBOL)
            return
        self.symbol = symbol
        await self.channel_layer.group_add(prices_group(symbol), self.channel_name)
        await self.accept()
        frame = await self._latest_frame()
        if frame is not None:
            await self.send(text_data=frame)

    async def disconnect(self, code: int) -> None:
        if self.symbol is not None:
            await self.channel_layer.group_discard(prices_group(self.symbol), self.channel_name)

    async def _latest_frame(self) -> str | None:
        """The last price this process has streamed, else the cached quote (feed, exchange)."""
        hub = get_hub()
        frame = hub.latest_frame(self.symbol)
        if frame is not None:
            return frame
        cached = await cache.aget_many([feed_quote_key(self.symbol), quote_key(self.symbol)])
        quote = choose_quote(
            cached.get(quote_key(self.symbol)), cached.get(feed_quote_key(self.symbol))
        )
        if not quote or quote.get("price") is None:
            return None
        tick = {
            "type": "price.tick",
            "symbol": self.symbol,
            "price": quote["price"],
            "timestamp": quote["timestamp"],
            "volume": 0,
            "source": quote.get("source"),
        }
        try:
            return hub.observe(tick)[0]
        except ValueError:
            return None

    # ------------------------------------------------------------------------------ client

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = orjson.loads(text_data if text_data is not None else bytes_data)
        except orjson.JSONDecodeError:
            await self._error("malformed_json", "messages must be JSON objects")
            return
        if not isinstance(message, dict):
            await self._error("invalid_message", "messages must be JSON objects with a 'type'")
            return
        kind = message.get("type")
        if kind == "ping":
            await self.send(text_data=_frame({"type": "pong", "id": message.get("id")}))
        elif kind == "latest":
            frame = await self._latest_frame()
            if frame is None:
                await self._error("no_price", f"no price for {self.symbol} yet")
            else:
                await self.send(text_data=frame)
        else:
            await self._error(
                "unknown_type", f"unknown message type {kind!r}: send 'ping' or 'latest'"
            )

    async def _error(self, code: str, message: str) -> None:
        await self.send(text_data=_frame({"type": "error", "code": code, "message": message}))

    # ------------------------------------------------------------------------------ group

    async def price_tick(self, event: dict) -> None:
        try:
            frames = get_hub().observe(event)
        except (KeyError, ValueError):
            log.warning("ignored a malformed price tick: %r", event)
            return
        for frame in frames:
            await self.send(text_data=frame)

    async def feed_status(self, event: dict) -> None:
        await self.send(text_data=_frame(event))
