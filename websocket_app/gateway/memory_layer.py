"""Channels' in-memory layer without its per-call full scan (the embedded default, `make run`).

`channels.layers.InMemoryChannelLayer` runs `_clean_expired()` on every `receive()` and every
`group_send()`: a walk over every channel's queue and every group membership in the process.
The gateway joins one group per account with a socket open (`account.<id>`), so with 500
accounts trading each call walks ~500 channels and ~500 groups, and one worker batch (a
`group_send` per account, a `receive` per account) costs O(accounts^2): measured at 65% of the
server's CPU under `bench/ws_orders.py --worker stub` (500 clients: 696 orders/s).

Here the scan runs at most every `clean_interval` seconds (1 s): an expired message (default
`expiry` 60 s) or group membership (a day) is dropped up to a second later than it would have
been. And `group_send` puts the message in each member's queue directly instead of through a
task per member and `asyncio.as_completed` (a send to this layer never waits): with one member
per account group that machinery was ~10% of the server's CPU under the stub bench. Nothing else
changes: capacity (a full channel is skipped, as in Channels), the deep copy per send, flush.
"""

from __future__ import annotations

import contextlib
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as _ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(_ChannelsInMemoryChannelLayer):
    def __init__(self, *args, clean_interval: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clean_interval = clean_interval
        self._next_clean = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_clean:
            return
        self._next_clean = now + self.clean_interval
        super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            # as Channels: a full channel misses the message, nobody waits
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)

    async def flush(self) -> None:
        await super().flush()
        self._next_clean = 0.0
