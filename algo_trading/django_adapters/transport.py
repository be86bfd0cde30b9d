"""``ChannelTransport``: a live session's messages over the Django Channels layer.

One private channel per transport, added to the session's groups (``account.<id>``,
``market.<SYMBOL>``, ``prices.<SYMBOL>``). A receiver task moves arrivals into a queue, so that
waiting with a timeout never cancels a ``layer.receive`` half-way (the Redis layer may lose the
message it was reading). Outgoing messages are queued by the synchronous strategy code and sent
in order by ``flush``; consecutive submits to the same shard travel as one ``orders.submit``,
as the WebSocket gateway sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from algo_trading.live.transport import InboxMixin

log = logging.getLogger("tradingsim.live")

#: groups are re-joined this often: the layers forget memberships after a day (group_expiry)
REJOIN_SECONDS = 3600.0
MAX_ORDERS_PER_MESSAGE = 1_000


class ChannelTransport(InboxMixin):
    def __init__(self, layer: Any = None, prefix: str = "strategy") -> None:
        if layer is None:
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
        self.layer = layer
        self.prefix = prefix
        self.channel: str | None = None
        self.groups: list[str] = []
        self.outbox: list[tuple[str, dict]] = []
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self._receiver: asyncio.Task | None = None
        self._joined_at = 0.0
        self.sent_messages = 0
        self.failed_sends = 0

    async def open(self) -> str:
        if self.channel is None:
            self.channel = await self.layer.new_channel(f"{self.prefix}.")
            self._receiver = asyncio.ensure_future(self._receive_forever())
        return self.channel

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis hiccup: keep listening
                log.exception("channel layer receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            self.inbox.put_nowait(message)

    # ------------------------------------------------------------------------------ Transport

    def send(self, channel: str, message: dict) -> None:
        self.outbox.append((channel, message))

    async def flush(self) -> None:
        if time.monotonic() - self._joined_at > REJOIN_SECONDS and self.groups:
            await self._join(self.groups)
        if not self.outbox:
            return
        items, self.outbox = self.outbox, []
        for channel, message in _merged(items):
            try:
                await self.layer.send(channel, message)
                self.sent_messages += 1
            except Exception as exc:  # ChannelFull, Redis down: the order client resends
                self.failed_sends += 1
                log.warning("could not send %s to %s: %r", message.get("type"), channel, exc)

    async def subscribe(self, groups: list[str]) -> None:
        await self.open()
        new = [g for g in groups if g not in self.groups]
        self.groups.extend(new)
        await self._join(new)

    async def _join(self, groups: list[str]) -> None:
        for group in groups:
            await self.layer.group_add(group, self.channel)
        self._joined_at = time.monotonic()

    async def close(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._receiver
            self._receiver = None
        for group in self.groups:
            with contextlib.suppress(Exception):
                await self.layer.group_discard(group, self.channel)
        self.groups = []


def _merged(items: list[tuple[str, dict]]):
    """Runs of ``orders.submit`` to one channel become one message; order is kept."""
    run_channel: str | None = None
    run: list[dict] = []
    for channel, message in items:
        if message.get("type") == "orders.submit":
            if run and (channel != run_channel or len(run) >= MAX_ORDERS_PER_MESSAGE):
                yield run_channel, {"type": "orders.submit", "orders": run}
                run = []
            run_channel = channel
            run.extend(message["orders"])
            continue
        if run:
            yield run_channel, {"type": "orders.submit", "orders": run}
            run = []
        yield channel, message
    if run:
        yield run_channel, {"type": "orders.submit", "orders": run}
