"""The asyncio side of the worker: receive over the channel layer, batch, publish after commit.

Database work runs in one dedicated thread (Django connections are per thread), so the event
loop that Daphne may share with us in `manage.py serve` never blocks on a write.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer

from matching.sharding import shard_channel
from trading_app.groups import account_group, market_group
from trading_app.matching_worker.batch import BatchResult
from trading_app.matching_worker.lease import ShardLease
from trading_app.matching_worker.worker import MatchingWorker, tune_gc

log = logging.getLogger("tradingsim.matching")

IDLE_TICK = 0.25  # seconds between housekeeping passes (scan, session end) when idle
# A worker restarted at once after a crash may find its predecessor's lease still held for a
# moment (the server notices the dead session): wait this long before giving up.
LEASE_WAIT_SECONDS = 5.0


class WorkerRunner:
    def __init__(self, worker: MatchingWorker, layer=None) -> None:
        self.worker = worker
        self.layer = layer or get_channel_layer()
        self.channel = shard_channel(worker.shard)
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"matching-{worker.shard}"
        )
        self.ready = asyncio.Event()

    async def _receive_forever(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            self.inbox.put_nowait(message)

    async def _next_batch(self) -> list[dict]:
        try:
            first = await asyncio.wait_for(self.inbox.get(), IDLE_TICK)
        except TimeoutError:
            return []
        batch = [first]
        limit = self.worker.batch_size
        while len(batch) < limit and not self.inbox.empty():
            batch.append(self.inbox.get_nowait())
        return batch

    async def run(self, stop: asyncio.Event) -> None:
        """Serve the shard until `stop`; raises ShardBusy if another worker holds it."""
        loop = asyncio.get_running_loop()
        lease = ShardLease(self.worker.shard)
        try:
            await loop.run_in_executor(self.executor, lease.acquire, LEASE_WAIT_SECONDS)
        except BaseException:
            self.executor.shutdown(wait=True)
            raise
        try:
            await self._serve(loop, stop)
        finally:
            await loop.run_in_executor(None, lease.release)

    async def _serve(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        await loop.run_in_executor(self.executor, self.worker.recover)
        tune_gc()
        receiver = asyncio.create_task(self._receive_forever())
        self.ready.set()
        log.info("matching worker shard %s listening on %s", self.worker.shard, self.channel)
        try:
            while True:
                if stop.is_set():
                    # drain what has arrived, then stop: SIGTERM loses nothing already received
                    receiver.cancel()
                    batch = []
                    while not self.inbox.empty():
                        batch.append(self.inbox.get_nowait())
                    await self._process(loop, batch)
                    break
                batch = await self._next_batch()
                await self._process(loop, batch)
        finally:
            receiver.cancel()
            self.executor.shutdown(wait=True)
            log.info("matching worker shard %s stopped (%s)", self.worker.shard, self.worker.stats)

    async def _process(self, loop, batch: list[dict]) -> None:
        try:
            result = await loop.run_in_executor(self.executor, self.worker.process_batch, batch)
        except Exception:  # the worker rebuilt itself from the database; keep serving
            log.exception("batch failed")
            return
        if result is not None:
            await self.publish(result)

    async def publish(self, result: BatchResult) -> None:
        """Execution reports to each account, market data to each symbol: only after commit."""
        by_account: dict[int, list[dict]] = {}
        for account_id, report in result.reports:
            by_account.setdefault(account_id, []).append(report)
        for account_id, error in result.errors:
            by_account.setdefault(account_id, []).append(error)
        sends = [
            self.layer.group_send(account_group(a), {"type": "trade.updates", "updates": updates})
            for a, updates in by_account.items()
        ]
        sends += [self.layer.group_send(market_group(s), m) for s, m in result.market.items()]
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                log.warning("publish failed: %r", outcome)
