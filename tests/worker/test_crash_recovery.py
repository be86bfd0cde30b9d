"""SIGKILL the worker mid-stream on a real PostgreSQL: nothing lost, nothing doubled.

The same stream of accepted orders is applied twice: once without interruption (in-process) and
once by a `run_matching` process that is killed with SIGKILL part-way and started again. Orders,
trades, positions, cash and the rebuilt books must be identical.
"""

import random
import signal
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from tests.worker.processes import start_worker, stop, wait_until
from trading_app.matching_worker.worker import MatchingWorker
from trading_app.models import Account, Instrument, Order, Position, Trade

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.slow]

ORDERS = 4000


def make_stream(accounts, instruments, n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    base = timezone.now() - timedelta(minutes=5)
    mids = {"AAPL": 19000, "MSFT": 42000}
    rows = []
    for i in range(n):
        symbol = rng.choice(list(mids))
        mids[symbol] += rng.choice((-1, 0, 1))
        mid = mids[symbol]
        side = rng.choice(("buy", "sell"))
        kind = rng.random()
        row = {
            "id": uuid.UUID(int=rng.getrandbits(128)),
            "account_id": rng.choice(accounts).id,
            "instrument_id": instruments[symbol].id,
            "client_order_id": f"o{i}",
            "side": side,
            "qty": rng.randint(1, 50),
            "created_at": base + timedelta(microseconds=i),
            "limit_price": None,
            "stop_price": None,
            "type": "limit",
            "time_in_force": "gtc",
        }
        offset = rng.randint(0, 20)
        passive = mid - offset if side == "buy" else mid + offset
        aggressive = mid + offset if side == "buy" else mid - offset
        if kind < 0.6:
            row["limit_price"] = Decimal(passive) / 100
        elif kind < 0.75:
            row["limit_price"] = Decimal(aggressive) / 100
            row["time_in_force"] = rng.choice(("gtc", "ioc", "fok"))
        elif kind < 0.85:
            row["type"], row["time_in_force"] = "market", "ioc"
        elif kind < 0.93:
            row["type"] = "stop"
            row["stop_price"] = Decimal(aggressive) / 100
        else:
            row["type"] = "stop_limit"
            row["stop_price"] = Decimal(aggressive) / 100
            row["limit_price"] = Decimal(aggressive + (5 if side == "buy" else -5)) / 100
        rows.append(row)
    return rows


def load_stream(stream):
    Order.objects.bulk_create([Order(**row) for row in stream], batch_size=1000)


def reset_exchange(cash: Decimal):
    Trade.objects.all().delete()
    Position.objects.all().delete()
    Order.objects.all().delete()
    Account.objects.update(cash=cash)
    Instrument.objects.update(last_price=None, last_trade_at=None)


def final_state():
    orders = sorted(
        Order.objects.values_list(
            "id",
            "status",
            "filled_qty",
            "filled_avg_price",
            "seq",
            "priority",
            "reject_reason",
            "qty",
        )
    )
    trades = sorted(
        Trade.objects.values_list(
            "execution_id", "order_id", "side", "price", "quantity", "liquidity"
        )
    )
    positions = sorted(
        Position.objects.values_list(
            "account_id", "instrument_id", "qty", "avg_cost", "realized_pnl"
        )
    )
    cash = sorted(Account.objects.values_list("id", "cash"))
    return {"orders": orders, "trades": trades, "positions": positions, "cash": cash}


def books():
    w = MatchingWorker()
    w.recover()
    return {s: w.engine.depth(s, 1000) for s in ("AAPL", "MSFT")}


def accepted_left() -> int:
    return Order.objects.filter(status="accepted").count()


def test_sigkill_mid_stream_loses_nothing_and_books_nothing_twice(
    instruments, make_account, tmp_path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("crash recovery is tested on PostgreSQL")
    settings.SESSION_END_UTC = ""
    accounts = [make_account(f"trader{i}")[0] for i in range(4)]
    stream = make_stream(accounts, instruments, ORDERS)

    load_stream(stream)
    uninterrupted = MatchingWorker(batch_size=50)
    uninterrupted.recover()
    while accepted_left():
        uninterrupted.process_batch([])
    expected, expected_books = final_state(), books()
    assert len(expected["trades"]) > 500, "the stream should trade a lot"

    reset_exchange(Decimal("1000000"))
    load_stream(stream)
    log = tmp_path / "worker.log"
    first = start_worker(log_path=log)
    assert wait_until(lambda: accepted_left() < ORDERS * 2 // 3, timeout=120), log.read_text()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    left = accepted_left()
    assert 0 < left < ORDERS, "the kill should land mid-stream"

    second = start_worker(log_path=log)
    try:
        assert wait_until(lambda: accepted_left() == 0, timeout=120), log.read_text()
    finally:
        assert stop(second) == 0, log.read_text()
    actual = final_state()
    for key in expected:
        diff = [(a, b) for a, b in zip(actual[key], expected[key], strict=False) if a != b][:3]
        assert actual[key] == expected[key], f"{key} differ (actual, expected): {diff}"
    assert books() == expected_books
