"""Live runs against the real matching worker in this event loop (as `manage.py serve` runs it).

The strategy's orders travel as `orders.submit` with origin "strategy" over the channel layer,
its reports come back from `account.<id>`: the same path as the WebSocket gateway's clients.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from algo_trading.django_adapters import runs
from algo_trading.django_adapters.runs import LiveConfig, LiveRunner, create_run
from trading_app.models import Order, Position, StrategyRun

from .helpers import (
    close_thread_connections,
    eventually,
    flush_layer,
    running_worker,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_layers")]


def rest_sell(client, price: str, qty: int = 10) -> dict:
    response = client.post(
        "/api/orders/",
        {"symbol": "AAPL", "side": "sell", "type": "limit", "qty": qty,
         "limit_price": price, "time_in_force": "gtc"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()


async def resting(order_id: str) -> bool:
    status = await sync_to_async(
        lambda: Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    )()
    return status == "new"


async def feed_ticks(stop: asyncio.Event, price: str = "190.00", every: float = 0.1) -> None:
    layer = get_channel_layer()
    while not stop.is_set():
        await layer.group_send(
            "prices.AAPL",
            {"type": "price.tick", "symbol": "AAPL", "price": price, "volume": 0,
             "timestamp": "2026-01-02T15:00:00+00:00", "source": "simulated"},
        )  # fmt: skip
        await asyncio.sleep(every)


def row(run_id: int) -> StrategyRun:
    return StrategyRun.objects.get(pk=run_id)


async def test_a_strategy_that_buys_on_its_first_bar_gets_a_real_fill(
    alice, bob_client, alice_client
):
    await flush_layer()
    account, _token = alice
    async with running_worker():
        ask = await sync_to_async(rest_sell)(bob_client, "190.05")
        await eventually(lambda: resting(ask["id"]))
        run = await sync_to_async(create_run)(
            account,
            "test_buy_first_bar",
            "AAPL",
            {"qty": 10},
            LiveConfig(bar_seconds=0.5, source="ticks"),
            origin="cli",
        )
        stop, ticks_stop = asyncio.Event(), asyncio.Event()
        lines: list[str] = []
        runner = LiveRunner(run.pk, echo=lines.append)
        task = asyncio.ensure_future(runner.run(stop))
        ticker = asyncio.ensure_future(feed_ticks(ticks_stop))

        async def filled():
            position = await sync_to_async(
                lambda: Position.objects.filter(account=account, instrument__symbol="AAPL")
                .values_list("qty", flat=True)
                .first()
            )()
            return position == 10

        await eventually(filled)
        saved = await eventually(
            lambda: sync_to_async(
                lambda: StrategyRun.objects.filter(pk=run.pk, fills=1, position=10).first()
            )()
        )
        assert saved.status == "running" and saved.orders == 1
        # the API stops it; the runner notices the request on its next save
        stopped = await sync_to_async(alice_client.post)(f"/api/strategies/runs/{run.pk}/stop/")
        assert stopped.status_code == 202 and stopped.json()["status"] == "stopping"
        await asyncio.wait_for(task, 20)
        ticks_stop.set()
        await ticker
    final = await sync_to_async(row)(run.pk)
    assert final.status == "stopped" and final.stopped_at is not None and not final.error
    assert (final.fills, final.position, final.avg_cost) == (1, 10, Decimal("190.05"))
    assert final.last_price == Decimal("190.00") and final.unrealized_pnl == Decimal("-0.5")
    assert runner.session.strategy.fills_seen == [("buy", 10, 190.05)]
    assert any(line.startswith("fill: buy 10 AAPL @ 190.05") for line in lines)

    order = await sync_to_async(lambda: Order.objects.get(account=account))()
    assert order.origin == "strategy" and order.client_order_id == f"run{run.pk}-1"
    assert order.type == "market" and order.status == "filled" and order.filled_qty == 10

    positions = (await sync_to_async(alice_client.get)("/api/positions/")).json()
    (aapl,) = [p for p in positions if p["symbol"] == "AAPL"]
    assert int(aapl["qty"]) == 10
    listed = (await sync_to_async(alice_client.get)("/api/strategies/runs/")).json()
    assert listed["results"][0]["id"] == run.pk and listed["results"][0]["position"] == 10
    # amounts as everywhere in the API: prices like the orders', money in cents
    shown = listed["results"][0]
    assert (shown["avg_cost"], shown["last_price"]) == ("190.05", "190.00")
    assert (shown["unrealized_pnl"], shown["pnl"]) == ("-0.50", "-0.50")
    await close_thread_connections()


async def test_runs_start_and_stop_through_the_api_inside_serve(alice, alice_client):
    await flush_layer()
    service_stop = asyncio.Event()
    async with running_worker():
        service = asyncio.ensure_future(runs.run_strategy_service(service_stop))
        await eventually(lambda: _true(runs.manager.available))
        created = await sync_to_async(alice_client.post)(
            "/api/strategies/runs/",
            {"strategy": "ma_crossover", "symbol": "aapl", "params": {"fast": 2, "slow": 3},
             "bar_seconds": 1, "qty": 5},
            format="json",
        )  # fmt: skip
        assert created.status_code == 201, created.content
        body = created.json()
        assert body["status"] == "starting" and body["symbol"] == "AAPL"
        assert body["config"]["sizing"] == {"model": "fixed", "quantity": 5}
        run_id = body["id"]

        async def status_is(value):
            current = await sync_to_async(alice_client.get)(f"/api/strategies/runs/{run_id}/")
            return current.json()["status"] == value

        await eventually(lambda: status_is("running"))
        assert run_id in runs.manager.tasks
        stopped = await sync_to_async(alice_client.post)(f"/api/strategies/runs/{run_id}/stop/")
        assert stopped.status_code == 202
        await eventually(lambda: status_is("stopped"))
        again = await sync_to_async(alice_client.post)(f"/api/strategies/runs/{run_id}/stop/")
        assert again.status_code == 200 and again.json()["status"] == "stopped"
        service_stop.set()
        await asyncio.wait_for(service, 20)
    assert not runs.manager.available
    await close_thread_connections()


async def _true(value):
    return value
