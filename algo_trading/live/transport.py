"""How a live session meets the exchange: the ``Transport`` protocol and the session loop.

The loop is plain asyncio so that it runs inside ``manage.py serve``'s event loop beside the
matching worker (the embedded in-memory channel layer reaches only its own process), in
``manage.py run_strategy``, or in a test with ``QueueTransport``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from .session import LiveSession

log = logging.getLogger("tradingsim.live")


class Transport(Protocol):
    """Messages out (queued by ``send``, delivered in order by ``flush``) and in."""

    def send(self, channel: str, message: dict) -> None: ...

    async def flush(self) -> None: ...

    async def subscribe(self, groups: list[str]) -> None: ...

    async def receive(self, timeout: float) -> dict | None: ...

    def receive_nowait(self) -> dict | None: ...

    async def close(self) -> None: ...


class InboxMixin:
    """``receive``/``receive_nowait`` over an ``asyncio.Queue`` named ``inbox``: transports
    fill the queue their own way and read it the same way."""

    inbox: asyncio.Queue[dict]

    async def receive(self, timeout: float) -> dict | None:
        try:
            return await asyncio.wait_for(self.inbox.get(), timeout)
        except TimeoutError:
            return None

    def receive_nowait(self) -> dict | None:
        try:
            return self.inbox.get_nowait()
        except asyncio.QueueEmpty:
            return None


class QueueTransport(InboxMixin):
    """In-process transport: ``sent`` records what went out, ``inbox`` is what comes in."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.outbox: list[tuple[str, dict]] = []
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.groups: list[str] = []
        self.closed = False

    def send(self, channel: str, message: dict) -> None:
        self.outbox.append((channel, message))

    async def flush(self) -> None:
        self.sent.extend(self.outbox)
        self.outbox.clear()

    async def subscribe(self, groups: list[str]) -> None:
        self.groups.extend(groups)

    async def close(self) -> None:
        self.closed = True


async def run_session(
    session: LiveSession,
    transport: Transport,
    stop: asyncio.Event,
    *,
    idle: float = 0.5,
    drain_seconds: float = 3.0,
) -> None:
    """Run ``session`` until ``stop`` is set (or a hook raises, which propagates).

    On the way out: ``on_stop``, resting orders withdrawn (or the position flattened), then up
    to ``drain_seconds`` of reports so the final position and P&L include what was in flight.
    """
    await transport.subscribe(session.groups)
    try:
        session.start()
        await transport.flush()
        while not stop.is_set():
            timeout = idle
            deadline = session.next_deadline_ns()
            if deadline is not None:
                timeout = min(max((deadline - session.clock_ns()) / 1e9, 0.005), idle)
            message = await transport.receive(timeout)
            if message is not None:
                session.handle(message)
            session.on_timer()
            await transport.flush()
    finally:
        try:
            session.stop()
            await transport.flush()
            until = time.monotonic() + drain_seconds
            while session.has_pending() and time.monotonic() < until:
                message = await transport.receive(0.1)
                if message is not None:
                    with contextlib.suppress(Exception):
                        session.handle(message)
                session.client.due()
                await transport.flush()
        finally:
            await transport.close()
