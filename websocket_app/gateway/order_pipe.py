"""Hands orders to the matching worker: everything of one event-loop tick as one message per shard.

Why: a channel-layer send costs about as much as handling the order itself (the in-memory layer
deep-copies each message; a Redis round trip is ~1 ms), so the orders that every socket
received in the same tick travel as one `orders.submit`. While a send is in flight (Redis),
more orders pile up and go in the next message: the busier the gateway, the bigger the batch.

Order is kept per shard: a cancel never overtakes the submit before it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

from matching.sharding import shard_channel, shard_of

log = logging.getLogger("tradingsim.gateway")

# Called with (message, code, detail) when a message could not be handed to the worker.
OnFail = Callable[[dict, str, str], None]
SUBMIT = "submit"
MAX_ORDERS_PER_MESSAGE = 5_000


class OrderPipe:
    def __init__(self, layer, shards: int) -> None:
        self.layer = layer
        self.shards = max(int(shards), 1)
        self._queues: dict[int, list[tuple[str | None, dict, OnFail]]] = {}
        self._senders: dict[int, asyncio.Task] = {}
        self.messages_sent = 0
        self.orders_sent = 0

    def shard(self, symbol: str) -> int:
        return shard_of(symbol, self.shards) if self.shards > 1 else 0

    def submit(self, payload: dict, on_fail: OnFail) -> None:
        """Queue a validated order payload (the worker contract's P)."""
        self._queue(self.shard(payload["symbol"]), SUBMIT, payload, on_fail)

    def control(self, shard: int, message: dict, on_fail: OnFail) -> None:
        """Queue a cancel/replace message, in order after the submits queued before it."""
        self._queue(shard, None, message, on_fail)

    def _queue(self, shard: int, kind: str | None, item: dict, on_fail: OnFail) -> None:
        queue = self._queues.get(shard)
        if queue is None:
            queue = self._queues[shard] = []
        queue.append((kind, item, on_fail))
        if shard not in self._senders:
            self._senders[shard] = asyncio.ensure_future(self._drain(shard))

    async def _drain(self, shard: int) -> None:
        channel = shard_channel(shard)
        queue = self._queues[shard]
        try:
            while queue:
                items = queue[:]
                queue.clear()
                for message, failures in _messages(items):
                    await self._send(channel, message, failures)
        finally:
            self._senders.pop(shard, None)

    async def _send(self, channel: str, message: dict, failures: list[tuple[dict, OnFail]]):
        try:
            await self.layer.send(channel, message)
        except ChannelFull:
            code, detail = "worker_busy", "the matching worker's inbox is full: not accepted, retry"
        except Exception as exc:  # Redis down: the order was never accepted
            log.exception("could not hand %s to the matching worker", message["type"])
            code, detail = "worker_unavailable", f"not accepted, retry ({type(exc).__name__})"
        else:
            self.messages_sent += 1
            if message["type"] == "orders.submit":
                self.orders_sent += len(message["orders"])
            return
        for item, on_fail in failures:
            on_fail(item, code, detail)


def _messages(items):
    """Merge runs of consecutive submits into `orders.submit` messages; keep everything in order."""
    run: list[dict] = []
    run_failures: list = []
    for kind, item, on_fail in items:
        if kind == SUBMIT:
            run.append(item)
            run_failures.append((item, on_fail))
            if len(run) >= MAX_ORDERS_PER_MESSAGE:
                yield {"type": "orders.submit", "orders": run}, run_failures
                run, run_failures = [], []
            continue
        if run:
            yield {"type": "orders.submit", "orders": run}, run_failures
            run, run_failures = [], []
        yield item, [(item, on_fail)]
    if run:
        yield {"type": "orders.submit", "orders": run}, run_failures


_pipes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderPipe] = (
    weakref.WeakKeyDictionary()
)


def get_pipe() -> OrderPipe:
    """The pipe of the running event loop (one per loop: tests each run in a loop of their own)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    pipe = _pipes.get(loop)
    if pipe is None or pipe.layer is not layer:
        pipe = _pipes[loop] = OrderPipe(layer, settings.MATCHING_SHARDS)
    return pipe
