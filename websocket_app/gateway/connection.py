"""The base of the gateway's consumers: the ASGI loop and a bounded, non-blocking outbox.

A plain ASGI application per socket rather than Channels' AsyncWebsocketConsumer, because the
stock consumer costs a thread hop per message (`aclose_old_connections` before every handler)
plus two tasks and an `asyncio.wait` per message (`await_many_dispatch`); that caps Daphne at
about 2,500 messages/s per core. Here a frame costs one `receive()` and a synchronous handler.

Outgoing frames go through `push()`, which never awaits: publishers (the hub) never wait for a
client. When nothing is queued and the socket's writer is idle, `push()` runs the ASGI send
right there, up to its first suspension: a send that completes without suspending (Daphne's
always does: Twisted buffers the bytes; uvicorn's does while the socket drains) costs no task
wakeup, which for a fan-out to 1,000 sockets is most of the per-socket cost. A send that does
suspend (uvicorn, a client that does not read) is finished by the socket's writer task; later
frames queue behind it in a deque, and past `outbox_limit` the socket is treated as a slow
consumer (`on_overflow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.sessions import InstanceSessionWrapper

from websocket_app.gateway import codes

log = logging.getLogger("tradingsim.gateway")

Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]


def direct_send(send: Send) -> Send:
    """The server's send beneath Channels' SessionMiddleware wrappers.

    `InstanceSessionWrapper.send` saves the session and sets its cookie on `http.response.start`
    only; for every WebSocket message it merely reads the session's state (through Django's
    LazyObject) and passes the message up: ~20% of the cost of a frame under Daphne. The
    session and user are resolved at the handshake all the same (scope["session"],
    scope["user"]).
    """
    while isinstance(getattr(send, "__self__", None), InstanceSessionWrapper) and (
        getattr(send, "__func__", None) is InstanceSessionWrapper.send
    ):
        send = send.__self__.real_send
    return send


class _Rest:
    """Awaitable: the rest of a coroutine that already ran up to its first suspension
    (`first`, what it yielded to the event loop)."""

    __slots__ = ("coro", "first")

    def __init__(self, coro, first) -> None:
        self.coro, self.first = coro, first

    def __await__(self):
        coro, pending = self.coro, self.first
        while True:
            try:
                value = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 (cancellation goes to the coroutine)
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
                continue
            try:
                pending = coro.send(value)
            except StopIteration as done:
                return done.value


class GatewayConsumer:
    """One WebSocket connection. Subclasses implement connect/on_frame/disconnect."""

    outbox_limit = 10_000

    def __init__(self, scope: dict, send: Send) -> None:
        self.scope = scope
        self._send = direct_send(send)
        self.outbox: deque[str] = deque()
        self._waiter: asyncio.Future | None = None  # set while the writer is idle
        self._rest: _Rest | None = None  # a send that suspended in push(), for the writer
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
        waiter = self._waiter
        if waiter is not None and not self.outbox:
            # The writer is idle: send now, without a task wakeup (see the module docstring).
            coro = self._send({"type": "websocket.send", "text": text})
            try:
                first = coro.send(None)
            except StopIteration:
                return  # sent
            except Exception as exc:  # the client went away under us
                self._lost(exc)
                return
            self._rest = _Rest(coro, first)  # suspended: the writer finishes it, then the queue
        elif len(self.outbox) >= self.outbox_limit:
            self.on_overflow()
            return
        else:
            self.outbox.append(text)
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
        rest, self._rest = self._rest, None
        if rest is not None:
            await rest
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
                rest, self._rest = self._rest, None
                if rest is not None:
                    await rest  # a send that push() started and that had to wait
                while outbox:
                    await send({"type": "websocket.send", "text": outbox.popleft()})
                self._waiter = loop.create_future()
                await self._waiter
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away under us
            self._lost(exc)

    def _lost(self, exc: BaseException) -> None:
        log.debug("send on %s failed, closing: %r", self.path, exc)
        self.closed = True
        self.outbox.clear()
