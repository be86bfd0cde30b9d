"""/ws/market_data/<symbol>/: a depth snapshot, then the book's changes, trades and ticker.

On connect the socket joins the symbol's group first and only then reads the worker's cached
snapshot, so nothing falls between the two: updates that arrive while the snapshot is read are
held, and those not newer than the snapshot are dropped. A jump in the worker's sequence (a
message lost on the channel layer, a worker restart) or an overflowing outbox triggers a fresh
snapshot by itself; a client may also ask with {"type": "snapshot"}.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs

from django.core.cache import cache

from trading_app.groups import market_group
from trading_app.matching_worker.worker import book_snapshot_key
from websocket_app.gateway import codes
from websocket_app.gateway.connection import GatewayConsumer
from websocket_app.gateway.hub import get_hub
from websocket_app.gateway.instruments import directory
from websocket_app.gateway.jsonwire import JSONDecodeError, dumps, loads
from websocket_app.gateway.market_messages import (
    parse_channels,
    parse_depth,
    snapshot_frame,
    update_frames,
)
from websocket_app.gateway.order_messages import error

OVERFLOWS_BEFORE_CLOSE = 3  # within OVERFLOW_WINDOW seconds: the client is not keeping up at all
OVERFLOW_WINDOW = 60.0


class MarketDataConsumer(GatewayConsumer):
    outbox_limit = 5_000

    async def connect(self) -> None:
        self.symbol = str(self.scope["url_route"]["kwargs"]["symbol"]).strip().upper()
        await directory.refresh()
        if directory.get(self.symbol) is None:
            await directory.refresh(force=True)
        if directory.get(self.symbol) is None:
            await self.accept()
            self.push(dumps(error("unknown_symbol", message=f"unknown symbol {self.symbol!r}")))
            await self.close(codes.UNKNOWN_SYMBOL, "unknown symbol")
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.depth = parse_depth(query.get("depth", [None])[0])
        self.channels = parse_channels(query.get("channels", [None])[0])
        self.last_sequence = 0
        self.syncing = True
        self.held: list[dict] = []
        self.overflow_times: list[float] = []
        self.group = market_group(self.symbol)
        self.hub = get_hub()
        await self.hub.join(self.group, self)
        self.joined = True
        await self.accept()
        await self.send_snapshot("connect")

    async def disconnect(self, code: int | None) -> None:
        if getattr(self, "joined", False):
            self.joined = False
            await self.hub.leave(self.group, self)

    def on_frame(self, data: str | bytes):
        try:
            message = loads(data)
        except JSONDecodeError as exc:
            self.push(dumps(error("malformed_json", {"non_field_errors": [str(exc)]})))
            return None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "snapshot":
            return None if self.syncing else self.send_snapshot("requested")
        if kind == "ping":
            self.push(dumps({"type": "pong", "id": message.get("id")}))
            return None
        self.push(dumps(error("unknown_type", {"type": ["must be snapshot or ping"]})))
        return None

    async def send_snapshot(self, reason: str) -> None:
        """Read the worker's snapshot, send it, then the held updates that are newer."""
        self.syncing = True
        try:
            snapshot = await cache.aget(book_snapshot_key(self.symbol))
            sequence, frame = snapshot_frame(self.symbol, snapshot, self.depth, reason)
            self.push(frame)
            self.last_sequence = sequence
        finally:
            self.syncing = False
        held, self.held = self.held, []
        for message in held:
            self.deliver(self.group, message)

    def deliver(self, group: str, message: dict) -> None:
        if message.get("type") != "market.update" or self.closed:
            return
        if self.syncing:
            self.held.append(message)
            return
        sequence = message["sequence"]
        if sequence <= self.last_sequence:
            return  # already in the snapshot
        if self.last_sequence and sequence != self.last_sequence + 1:
            self.held.append(message)
            self._resync("gap")
            return
        self.last_sequence = sequence
        frames = update_frames(message)
        for channel in self.channels:
            for frame in frames[channel]:
                self.push(frame)

    def on_overflow(self) -> None:
        """Drop what is queued and start again from a snapshot; close a client that never reads."""
        now = time.monotonic()
        self.overflow_times = [t for t in self.overflow_times if now - t < OVERFLOW_WINDOW]
        self.overflow_times.append(now)
        if len(self.overflow_times) >= OVERFLOWS_BEFORE_CLOSE:
            super().on_overflow()
            return
        self.overflows += 1
        self.outbox.clear()
        self._resync("overflow")

    def _resync(self, reason: str) -> None:
        if not self.syncing:
            self.syncing = True
            asyncio.ensure_future(self.send_snapshot(reason))
