"""Helpers for the gateway's consumer tests: sockets on the real ASGI app, a real worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

ORIGIN = (b"origin", b"http://testserver")


def reset_channel_layers() -> None:
    """A fresh layer per test: the in-memory layer's queues belong to one event loop."""
    channel_layers.backends.clear()


async def flush_layer() -> None:
    """Forget messages a previous test left on a shared (Redis) layer."""
    layer = get_channel_layer()
    if hasattr(layer, "flush"):
        await layer.flush()


async def open_socket(
    path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    from tradingSim_project.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, *(headers or [])])
    connected, _ = await communicator.connect(timeout=10)
    assert connected, f"{path} refused the handshake"
    return communicator


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until(
    communicator: WebsocketCommunicator, predicate: Callable[[dict], bool], timeout: float = 10
) -> list[dict]:
    """Every message up to and including the first that satisfies `predicate`."""
    seen: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"timed out; received {seen}"
        message = await receive(communicator, timeout=left)
        seen.append(message)
        if predicate(message):
            return seen


async def nothing_more(communicator: WebsocketCommunicator, wait: float = 0.5) -> bool:
    return await communicator.receive_nothing(timeout=wait, interval=0.02)


@contextlib.asynccontextmanager
async def running_worker() -> AsyncIterator[object]:
    """The real matching worker in this event loop, as `manage.py serve` runs it."""
    from trading_app.matching_worker.runner import WorkerRunner
    from trading_app.matching_worker.worker import MatchingWorker

    runner = WorkerRunner(MatchingWorker())
    stop = asyncio.Event()
    task = asyncio.ensure_future(runner.run(stop))
    await asyncio.wait_for(runner.ready.wait(), 20)
    try:
        yield runner
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def close_thread_connections() -> None:
    """The ORM ran in sync_to_async's thread: close its connection, or PostgreSQL cannot drop
    the test database at the end of the session."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()
