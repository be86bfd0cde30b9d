"""The market simulator against the real matching worker: a two-sided book and trades, everywhere."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db.models import Count

from algo_trading.simulator.market import SimulatorConfig
from algo_trading.simulator.service import run_simulator
from trading_app.models import Account, Instrument, Order, Trade

from .helpers import (
    close_thread_connections,
    eventually,
    flush_layer,
    running_worker,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_layers")]


def book_and_trades() -> tuple[dict, dict]:
    sides = {}
    rows = (
        Order.objects.filter(status__in=("new", "partially_filled"), origin="simulator")
        .values("instrument__symbol", "side")
        .annotate(n=Count("id"))
    )
    for r in rows:
        sides.setdefault(r["instrument__symbol"], set()).add(r["side"])
    trades = dict(
        Trade.objects.filter(source="exchange").values_list("ticker").annotate(n=Count("id"))
    )
    return sides, trades


async def test_the_simulator_makes_a_two_sided_book_and_trades_for_every_symbol(instruments):
    await flush_layer()
    symbols = set(instruments)
    config = SimulatorConfig(rate=4, seed=11, market_makers=1, noise_traders=2, momentum_traders=1)
    stop = asyncio.Event()
    lines: list[str] = []
    async with running_worker():
        task = asyncio.ensure_future(
            run_simulator(stop, config, progress=lines.append, progress_every=1.0)
        )

        async def everywhere():
            sides, trades = await sync_to_async(book_and_trades)()
            two_sided = {s for s, found in sides.items() if found == {"buy", "sell"}}
            return (two_sided == symbols and set(trades) == symbols) and (sides, trades)

        sides, trades = await eventually(everywhere, timeout=60, interval=0.5)
        stop.set()
        simulator = await asyncio.wait_for(task, 30)
        # stopped: every agent withdrew its resting orders
        left = await sync_to_async(
            lambda: Order.objects.filter(
                origin="simulator", status__in=("accepted", "new", "partially_filled")
            ).count()
        )()
    assert left == 0
    assert all(trades[s] > 0 for s in symbols)
    accounts = await sync_to_async(
        lambda: sorted(Account.objects.filter(user__username__startswith="sim_").values_list(
            "user__username", flat=True))
    )()  # fmt: skip
    assert accounts == ["sim_mm1", "sim_mom1", "sim_noise1", "sim_noise2"]
    rejected = await sync_to_async(
        lambda: list(Order.objects.filter(origin="simulator", status="rejected")
                     .values_list("reject_reason", flat=True)[:5])
    )()  # fmt: skip
    assert rejected == [], rejected  # prices near the reference, plenty of cash
    assert simulator.rounds > 0 and lines[0].startswith("market simulator: sim_mm1")
    # the exchange's last prices stayed near where they started
    marks = await sync_to_async(
        lambda: {i.symbol: (i.last_price, i.reference_price) for i in Instrument.objects.all()}
    )()
    for last, reference in marks.values():
        assert abs(last / reference - 1) < 0.05
    await close_thread_connections()


async def test_a_restarted_simulator_cancels_what_a_killed_one_left(instruments):
    from algo_trading.simulator.service import leftover_cancels, prepare_accounts

    await flush_layer()
    config = SimulatorConfig(market_makers=1, noise_traders=0, momentum_traders=0)
    accounts = await sync_to_async(prepare_accounts)(config)
    account_id = accounts["sim_mm1"]["account_id"]

    def leave_an_order():
        return Order.objects.create(
            account_id=account_id, instrument=instruments["AAPL"], client_order_id="old-1",
            side="buy", type="limit", time_in_force="gtc", qty=5, limit_price="180.00",
            status="accepted",
        )  # fmt: skip

    old = await sync_to_async(leave_an_order)()
    async with running_worker():
        await eventually(
            lambda: sync_to_async(lambda: Order.objects.filter(pk=old.pk, status="new").exists())()
        )
        cancels = await sync_to_async(leftover_cancels)([account_id], 1)
        assert cancels == [
            (
                "matching.shard.0",
                {"type": "order.cancel", "id": str(old.pk), "account_id": account_id},
            )
        ]
        stop = asyncio.Event()
        task = asyncio.ensure_future(run_simulator(stop, config, ["AAPL"]))
        await eventually(
            lambda: sync_to_async(
                lambda: Order.objects.filter(pk=old.pk, status="canceled").exists()
            )()
        )
        stop.set()
        await asyncio.wait_for(task, 30)
    await close_thread_connections()
