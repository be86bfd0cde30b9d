"""The base of the gateway's consumers: the ASGI loop and a bounded, non-blocking outbox.

A plain ASGI application per socket rather than Channels' AsyncWebsocketConsumer, because the
stock consumer costs a thread hop per message (`aclose_old_connections` before every handler)
plus two tasks and an `asyncio.wait` per message (`await_many_dispatch`); that caps Daphne at
about 2,500 messages/s per core. Here a frame costs one `receive()` and a synchronous handler.

Outgoing frames go through `push()`, which only appends to a deque drained by one writer task
per socket. Publishers (the hub) therefore never await a client. Under Daphne a send never
suspends (Twisted buffers the bytes); under uvicorn it waits for the socket to drain, the deque
grows, and past `outbox_limit` the socket is treated as a slow consumer (`on_overflow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from websocket_app.gateway import codes

log = logging.getLogger("tradingsim.gateway")

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]


class GatewayConsumer:
    """One WebSocket connection. Subclasses implement connect/on_frame/disconnect."""

    outbox_limit = 10_000

    def __init__(self, scope: dict, send: Send) -> None:
        self.scope = scope
        self._send = send
        self.outbox: deque[str] = deque()
        self._waiter: asyncio.Future | None = None
        self._writer: asyncio.Task | None = None
        self.accepted = False
        self.closed = False
        self.overflows = 0

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> Callable:
        """An ASGI application that makes one instance per connection (like Channels')."""

        async def app(scope: dict, receive: Receive, send: Send) -> None:
            await cls(scope, send, **initkwargs).run(receive)

        app.consumer_class = cls  # type: ignore[attr-defined]
        return app

    # ------------------------------------------------------------------ to override

    async def connect(self) -> None:
        """Accept (`await self.accept()`) or close the connection."""
        await self.accept()

    def on_frame(self, data: str | bytes) -> Awaitable[None] | None:
        """Handle one client frame; return an awaitable only when it must do I/O."""
        return None

    async def disconnect(self, code: int | None) -> None:
        """Leave groups, release resources. Runs exactly once."""

    def on_overflow(self) -> None:
        """The client reads too slowly: by default close it so the others are not affected."""
        self.overflows += 1
        log.warning("closing slow consumer %s (%d frames queued)", self.path, len(self.outbox))
        self.outbox.clear()
        self.closed = True
        asyncio.ensure_future(self._close_frame(codes.SLOW_CONSUMER, "slow consumer"))

    # ------------------------------------------------------------------ the loop

    @property
    def path(self) -> str:
        return self.scope.get("path", "?")

    async def run(self, receive: Receive) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        code = None
        try:
            await self.connect()
            while self.accepted and not self.closed:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    data = message.get("text")
                    pending = self.on_frame(data if data is not None else message.get("bytes"))
                    if pending is not None:
                        await pending
                elif kind == "websocket.disconnect":
                    code = message.get("code")
                    break
        finally:
            self.closed = True
            if self._writer is not None:
                self._writer.cancel()
            await self.disconnect(code)

    async def accept(self) -> None:
        await self._send({"type": "websocket.accept"})
        self.accepted = True
        self._writer = asyncio.ensure_future(self._write_forever())

    def push(self, text: str) -> None:
        """Queue one text frame; never blocks, never awaits."""
        if self.closed:
            return
        if len(self.outbox) >= self.outbox_limit:
            self.on_overflow()
            return
        self.outbox.append(text)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then the close frame (accepting first so the code arrives)."""
        if not self.accepted:
            await self._send({"type": "websocket.accept"})
            self.accepted = True
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        while self.outbox:
            await self._send({"type": "websocket.send", "text": self.outbox.popleft()})
        self.closed = True
        await self._close_frame(code, reason)

    async def _close_frame(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _write_forever(self) -> None:
        send, outbox = self._send, self.outbox
        loop = asyncio.get_running_loop()
        try:
            while True:
                while outbox:
                    await send({"type": "websocket.send", "text": outbox.popleft()})
                self._waiter = loop.create_future()
                await self._waiter
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away under us
            log.debug("writer of %s stopped: %r", self.path, exc)
            self.closed = True
            self.outbox.clear()
