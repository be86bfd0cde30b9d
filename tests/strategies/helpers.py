"""Report builders (the worker's trade_updates shape) and a test strategy, for the live tests."""

from __future__ import annotations

from algo_trading import Param, Strategy, registry


def report(order, event: str, **extra) -> dict:
    """A trade_updates element for a TrackedOrder, as the matching worker publishes it."""
    return {
        "event": event,
        "timestamp": "2026-01-02T15:00:00+00:00",
        "order": {
            "id": order.id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": order.side,
            "type": order.type,
            "qty": extra.pop("order_qty", order.qty),
            "limit_price": extra.pop("limit_price", None),
            "status": extra.pop("status", event),
        },
        **extra,
    }


def fill(order, qty: int, price: str, execution_id: int, last: bool = True) -> dict:
    return report(
        order,
        "fill" if last else "partial_fill",
        price=price,
        qty=qty,
        execution_id=execution_id,
        liquidity="taker",
    )


@registry.register
class BuyFirstBar(Strategy):
    """Test strategy: buy ``qty`` at market on the first bar, then hold; records its hooks."""

    name = "test_buy_first_bar"
    qty = Param(int, 10, min=1, max=10_000)

    history_size = 5

    def on_start(self) -> None:
        self.bars_seen = 0
        self.fills_seen = []
        self.ticks_seen = 0
        self.stopped = False

    def on_bar(self, bar) -> None:
        self.bars_seen += 1
        if self.bars_seen == 1:
            self.buy(self.qty)

    def on_tick(self, tick) -> None:
        self.ticks_seen += 1

    def on_fill(self, fill) -> None:
        self.fills_seen.append((fill.side, fill.qty, fill.price))

    def on_stop(self) -> None:
        self.stopped = True


# ------------------------------------------------------------------------------ async plumbing


def reset_channel_layers() -> None:
    """A fresh layer per test: the in-memory layer's queues belong to one event loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()


async def flush_layer() -> None:
    """Forget what earlier tests left on a shared (Redis) layer."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if hasattr(layer, "flush"):
        await layer.flush()


class running_worker:  # noqa: N801 - used as `async with running_worker():`
    """The real matching worker in this event loop, as `manage.py serve` runs it."""

    async def __aenter__(self):
        import asyncio

        from trading_app.matching_worker.runner import WorkerRunner
        from trading_app.matching_worker.worker import MatchingWorker

        self.runner = WorkerRunner(MatchingWorker())
        self.stop = asyncio.Event()
        self.task = asyncio.ensure_future(self.runner.run(self.stop))
        await asyncio.wait_for(self.runner.ready.wait(), 30)
        return self.runner

    async def __aexit__(self, *exc) -> None:
        import asyncio

        self.stop.set()
        await asyncio.wait_for(self.task, 30)
        await close_thread_connections()


async def close_thread_connections() -> None:
    """The ORM ran in sync_to_async's thread: close its connection, or PostgreSQL cannot drop
    the test database at the end of the session."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()


async def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """Poll an async ``check`` until it returns something truthy; return that."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s; last value {value!r}")
        await asyncio.sleep(interval)
