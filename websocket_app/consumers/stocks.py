"""/ws/stocks/<ticker>/: a ticker's live price with its moving average and move alerts.

Subscribes to the channel layer group `prices.<SYMBOL>` that the price feed publishes to
(contract in docs/architecture.md; messages in docs/websocket.md). Built on the gateway's lean
consumer rather than Channels' AsyncWebsocketConsumer: Channels dispatches every message through
a thread hop (`aclose_old_connections`) shared by all sockets, which made a tick reach the 100th
subscriber ~160 ms late. Here the process joins each group once (`GroupHub`), a tick is turned
into frames once for all subscribers (`PriceStreamHub`: statistics and encoding shared), and
each socket only gets a synchronous `push` into its bounded outbox: no database, no thread hop,
and a slow client delays nobody.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.core.cache import cache

from trading_app.groups import prices_group
from trading_app.market_data.history import history_key
from trading_app.services.market_data import choose_quote, feed_quote_key, quote_key
from websocket_app.gateway import codes
from websocket_app.gateway.connection import GatewayConsumer
from websocket_app.gateway.hub import get_hub as get_group_hub
from websocket_app.gateway.instruments import directory
from websocket_app.gateway.jsonwire import JSONDecodeError, dumps, loads
from websocket_app.price_stats import get_hub as get_price_hub

log = logging.getLogger("tradingsim.ws.stocks")

#: close code for a ticker that is not listed (4000-4999: application-defined)
CLOSE_UNKNOWN_SYMBOL = codes.UNKNOWN_SYMBOL  # 4404
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")


def _error(code: str, message: str) -> str:
    return dumps({"type": "error", "code": code, "message": message})


async def _is_listed(symbol: str) -> bool:
    await directory.refresh()
    if directory.get(symbol) is None:
        await directory.refresh(force=True)  # listed a moment ago?
    return directory.get(symbol) is not None


class StockPriceConsumer(GatewayConsumer):
    """Server → client: `price`, `alert`, `feed.status`; client → server: `ping`, `latest`."""

    symbol: str | None = None
    joined = False
    got_tick = False

    async def connect(self) -> None:
        raw = str(self.scope["url_route"]["kwargs"].get("ticker", ""))
        symbol = raw.strip().upper()
        if not SYMBOL_RE.match(symbol) or not await _is_listed(symbol):
            # Accept first so that the client can read why before the close.
            await self.accept()
            self.push(_error("unknown_symbol", f"unknown ticker {raw!r}: no such instrument"))
            await self.close(CLOSE_UNKNOWN_SYMBOL, "unknown ticker")
            return
        self.symbol = symbol
        self.group = prices_group(symbol)
        self.groups = get_group_hub()
        await self.groups.join(self.group, self)
        self.joined = True
        # While other sockets of this process follow the symbol, the last frame it streamed is
        # current: it goes first (synchronously: no tick can overtake it). A first subscriber
        # gets the fresher of that frame and the cached quote (the process stopped receiving
        # the symbol's ticks when its last subscriber left), unless a live tick came meanwhile.
        hub = get_price_hub()
        frame = hub.latest_frame(symbol) if self.groups.members(self.group) > 1 else None
        if frame is not None:
            self.push(frame)
        await self.accept()
        if frame is None:
            frame = await self._cached_frame() or hub.latest_frame(symbol)
            if frame is not None and not self.got_tick:
                self.push(frame)

    async def disconnect(self, code: int | None) -> None:
        if self.joined:
            self.joined = False
            await self.groups.leave(self.group, self)

    async def _cached_frame(self) -> str | None:
        """A price frame from the cached quote (the feed's, or the exchange's last trade), if it
        is newer than the last tick this process observed for the symbol; the symbol's moving
        average is backfilled from the feed's history first."""
        found = await cache.aget_many(
            [feed_quote_key(self.symbol), quote_key(self.symbol), history_key(self.symbol)]
        )
        # The feed's recent seconds first: this process may not have been following the symbol,
        # and its moving average should cover the whole window from the first frame.
        get_price_hub().backfill(self.symbol, found.get(history_key(self.symbol)) or ())
        quote = choose_quote(
            found.get(quote_key(self.symbol)), found.get(feed_quote_key(self.symbol))
        )
        if not quote or quote.get("price") is None or not quote.get("timestamp"):
            return None
        seen_at = get_price_hub().last_at(self.symbol)
        if seen_at is not None:
            try:
                if datetime.fromisoformat(quote["timestamp"]).timestamp() <= seen_at:
                    return None
            except (TypeError, ValueError):
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
            return get_price_hub().observe(tick)[0]
        except ValueError:
            return None

    # ------------------------------------------------------------------------------ group

    def deliver(self, group: str, message: dict) -> None:
        """Called by the GroupHub for each group message: must not block, must not raise."""
        kind = message.get("type")
        if kind == "price.tick":
            try:
                frames = get_price_hub().observe(message)
            except (KeyError, ValueError):
                log.warning("ignored a malformed price tick: %r", message)
                return
            self.got_tick = True
            for frame in frames:
                self.push(frame)
        elif kind == "feed.status":
            self.push(dumps(message))

    # ------------------------------------------------------------------------------ client

    def on_frame(self, data: str | bytes):
        try:
            message = loads(data)
        except JSONDecodeError:
            self.push(_error("malformed_json", "messages must be JSON objects"))
            return None
        if not isinstance(message, dict):
            self.push(_error("invalid_message", "messages must be JSON objects with a 'type'"))
            return None
        kind = message.get("type")
        if kind == "ping":
            self.push(dumps({"type": "pong", "id": message.get("id")}))
            return None
        if kind == "latest":
            return self._send_latest()
        self.push(_error("unknown_type", f"unknown message type {kind!r}: send 'ping' or 'latest'"))
        return None

    async def _send_latest(self) -> None:
        frame = get_price_hub().latest_frame(self.symbol) or await self._cached_frame()
        self.push(frame or _error("no_price", f"no price for {self.symbol} yet"))
