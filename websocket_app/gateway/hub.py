"""One channel-layer receiver per group per event loop, fanning messages out to local sockets.

Why not one Channels consumer per socket: then the layer holds one member per socket, copies
every group message once per socket (the in-memory layer deep-copies each send) and every
receive scans the layer's whole group table. Here the layer sees one member per group per
process; handing the message to each local socket is a synchronous call that only appends to
that socket's bounded outbox (see `connection.py`), so a slow or dead socket never delays the
others and never blocks the receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import Protocol

from channels.layers import get_channel_layer

log = logging.getLogger("tradingsim.gateway")

# Group memberships expire in the Redis layer (group_expiry, a day by default): re-add them.
REFRESH_SECONDS = 1800.0


class Subscriber(Protocol):
    def deliver(self, group: str, message: dict) -> None:
        """Called synchronously for every message of a joined group; must not block."""


@dataclass(eq=False)
class _Group:
    name: str
    members: set = field(default_factory=set)
    channel: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    pump: asyncio.Task | None = None
    error: BaseException | None = None


class GroupHub:
    """Joins channel-layer groups on behalf of local subscribers (one hub per event loop)."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self._groups: dict[str, _Group] = {}
        self._refresher: asyncio.Task | None = None
        self.delivered = 0

    async def join(self, group: str, subscriber: Subscriber) -> None:
        """Subscribe; returns once the layer delivers the group's messages to this process."""
        entry = self._groups.get(group)
        if entry is None:
            entry = self._groups[group] = _Group(group)
            entry.members.add(subscriber)
            try:
                entry.channel = await self.layer.new_channel("gateway.")
                await self.layer.group_add(group, entry.channel)
            except BaseException as exc:
                entry.error = exc
                self._groups.pop(group, None)
                entry.ready.set()
                raise
            entry.pump = asyncio.ensure_future(self._pump(entry))
            entry.ready.set()
            self._ensure_refresher()
            return
        entry.members.add(subscriber)
        await entry.ready.wait()
        if entry.error is not None:
            entry.members.discard(subscriber)
            raise RuntimeError(f"could not join {group}") from entry.error

    async def leave(self, group: str, subscriber: Subscriber) -> None:
        entry = self._groups.get(group)
        if entry is None:
            return
        entry.members.discard(subscriber)
        if entry.members or not entry.ready.is_set():
            return
        self._groups.pop(group, None)
        if entry.pump is not None:
            entry.pump.cancel()
        if entry.channel is not None:
            with contextlib.suppress(Exception):
                await self.layer.group_discard(group, entry.channel)
        if not self._groups and self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None

    def members(self, group: str) -> int:
        entry = self._groups.get(group)
        return len(entry.members) if entry else 0

    async def _pump(self, entry: _Group) -> None:
        receive, channel, name = self.layer.receive, entry.channel, entry.name
        while True:
            try:
                message = await receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a Redis hiccup: keep the group alive
                log.exception("receive on %s failed", name)
                await asyncio.sleep(0.5)
                continue
            for member in tuple(entry.members):
                try:
                    member.deliver(name, message)
                except Exception:
                    log.exception("delivering %s to %r failed", message.get("type"), member)
            self.delivered += 1

    def _ensure_refresher(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.ensure_future(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            started = time.monotonic()
            for entry in list(self._groups.values()):
                if entry.channel is not None:
                    with contextlib.suppress(Exception):
                        await self.layer.group_add(entry.name, entry.channel)
            log.debug("re-added %d groups in %.3fs", len(self._groups), time.monotonic() - started)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupHub] = weakref.WeakKeyDictionary()


def get_hub() -> GroupHub:
    """The hub of the running event loop (tests run each in a loop of their own)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = GroupHub(layer)
    return hub
