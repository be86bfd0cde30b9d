"""Report builders (the worker's trade_updates shape) and a test strategy, for the live tests."""

from __future__ import annotations

from algo_trading import Param, Strategy, registry
from tests.realtime.gateway_helpers import (  # noqa: F401 - re-exported for these tests
    close_thread_connections,
    flush_layer,
    running_worker,
)


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
