"""Run one or more shards of the worker inside an event loop (standalone or inside `serve`)."""

from __future__ import annotations

import asyncio

from trading_app.matching_worker.runner import WorkerRunner
from trading_app.matching_worker.worker import MatchingWorker


async def run_workers(stop: asyncio.Event, shards: list[int], total: int) -> None:
    runners = [WorkerRunner(MatchingWorker(shard, total)) for shard in shards]
    await asyncio.gather(*(runner.run(stop) for runner in runners))


async def run_embedded_worker(stop: asyncio.Event) -> None:
    """`serve`'s worker: every shard in this process (the in-memory layer is per process)."""
    from django.conf import settings

    total = settings.MATCHING_SHARDS
    await run_workers(stop, list(range(total)), total)
