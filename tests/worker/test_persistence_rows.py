"""The worker's bulk write paths (COPY on PostgreSQL, executemany on SQLite) store rows that the
ORM reads back exactly and finds by value: timestamps to the microsecond (a whole second too,
which SQLite's text form writes without a fraction), Decimals, UUIDs, positions and cash."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading_app.matching_worker.batch import BatchResult, FillRecord
from trading_app.matching_worker.persistence import persist
from trading_app.matching_worker.state import LiveOrder
from trading_app.models import Account, Order, Position, Trade

pytestmark = pytest.mark.django_db

WHOLE_SECOND = datetime(2025, 1, 20, 15, 0, 0, tzinfo=UTC)
WITH_MICROS = datetime(2025, 1, 20, 15, 0, 1, 250_001, tzinfo=UTC)


def live(account, instrument, side, **fields) -> LiveOrder:
    order = LiveOrder(
        id=uuid.uuid4(),
        account_id=account.id,
        instrument_id=instrument.id,
        symbol=instrument.symbol,
        client_order_id=f"c-{uuid.uuid4().hex[:8]}",
        side=side,
        type="limit",
        time_in_force="gtc",
        qty=10,
        limit_price=Decimal("189.50"),
        stop_price=None,
        created_at=WHOLE_SECOND,
        origin="ws",
        is_new_row=True,
        updated_at=WHOLE_SECOND,
    )
    for name, value in fields.items():
        setattr(order, name, value)
    return order


def test_a_batch_reads_back_exactly(make_account, instruments):
    alice, bob = make_account("alice")[0], make_account("bob")[0]
    aapl = instruments["AAPL"]
    maker = live(bob, aapl, "sell", status="new", seq=1, priority=1)
    first = BatchResult()
    first.touch(maker)
    persist(first)

    taker = live(alice, aapl, "buy", created_at=WITH_MICROS, updated_at=WITH_MICROS)
    taker.seq = taker.priority = 2
    for order in (maker, taker):
        order.status, order.filled_qty = "filled", 10
        order.filled_notional = Decimal("1895.00")
        order.filled_at = order.updated_at = WITH_MICROS
    second = BatchResult()
    second.touch(maker, "status")
    second.touch(taker)
    second.fills.append(
        FillRecord(7, "AAPL", aapl.id, Decimal("189.50"), 10, taker, maker, "buy", WITH_MICROS)
    )
    persist(second)

    row = Order.objects.get(id=taker.id)
    assert (row.status, row.filled_qty, row.filled_avg_price) == ("filled", 10, Decimal("189.5"))
    assert (row.created_at, row.filled_at, row.limit_price) == (
        WITH_MICROS,
        WITH_MICROS,
        Decimal("189.50"),
    )
    made = Order.objects.get(id=maker.id)
    assert (made.created_at, made.updated_at, made.status) == (WHOLE_SECOND, WITH_MICROS, "filled")
    # found by value, as filters and the export find them
    assert Order.objects.filter(created_at=WHOLE_SECOND).get().id == maker.id
    assert Order.objects.filter(filled_at=WITH_MICROS).count() == 2
    assert Order.objects.filter(limit_price=Decimal("189.5"), side="buy").get().id == taker.id
    trades = Trade.objects.filter(execution_id=7).order_by("liquidity")
    assert [(t.account_id, t.side, t.liquidity, t.order_id) for t in trades] == [
        (bob.id, "sell", "maker", maker.id),
        (alice.id, "buy", "taker", taker.id),
    ]
    assert {t.timestamp for t in trades} == {WITH_MICROS}
    assert Trade.objects.filter(timestamp=WITH_MICROS, price=Decimal("189.50")).count() == 2
    position = Position.objects.get(account=alice, instrument=aapl)
    assert (position.qty, position.avg_cost) == (10, Decimal("189.5"))
    assert Position.objects.get(account=bob, instrument=aapl).qty == -10
    assert Account.objects.get(pk=alice.pk).cash == Decimal("1000000") - Decimal("1895.00")
    assert Account.objects.get(pk=bob.pk).cash == Decimal("1000000") + Decimal("1895.00")


def test_the_worker_keeps_no_query_log_under_debug_but_capture_still_works(
    worker, make_account, settings
):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from tests.worker.conftest import order_payload

    account = make_account("carol")[0]
    settings.DEBUG = True  # make run's default
    reset_queries()

    def batch(n: int) -> None:
        body = {
            **order_payload(limit_price="189.00"),
            "id": str(uuid.uuid4()),
            "account_id": account.id,
        }
        body["client_order_id"] = f"q{n}"
        worker.process_batch([{"type": "orders.submit", "orders": [body]}])

    batch(1)
    assert connection.queries == []  # DEBUG alone: nothing recorded
    with CaptureQueriesContext(connection) as captured:
        batch(2)
    assert any("trading_app_order" in q["sql"] for q in captured)  # asked for: recorded


def test_existing_client_order_ids_across_chunks(make_account, instruments):
    """Duplicate detection reads exactly the asked (account, client_order_id) pairs, in chunks."""
    from trading_app.matching_worker import persistence_sqlite
    from trading_app.matching_worker.persistence import existing_client_order_ids

    accounts = [make_account(f"u{n}")[0] for n in range(3)]
    batch = BatchResult()
    stored = {}
    for n in range(5):
        order = live(accounts[n % 3], instruments["AAPL"], "buy", status="new", seq=n + 1)
        order.client_order_id = f"dup-{n}"
        batch.touch(order)
        stored[(order.account_id, order.client_order_id)] = (order.id, "new")
    persist(batch)
    asked = [(a.id, f"dup-{n}") for a in accounts for n in range(5)]  # 15 pairs, 5 stored
    asked += [(accounts[0].id, f"other-{n}") for n in range(persistence_sqlite.KEYS_PER_QUERY * 2)]
    assert existing_client_order_ids(asked) == stored


def test_a_fill_on_an_existing_position_reads_it_back(make_account, instruments):
    alice, bob = make_account("alice")[0], make_account("bob")[0]
    aapl = instruments["AAPL"]
    for qty, price in ((10, "189.50"), (5, "190.00")):
        maker = live(bob, aapl, "sell", status="filled", filled_qty=qty, qty=qty)
        taker = live(alice, aapl, "buy", status="filled", filled_qty=qty, qty=qty)
        batch = BatchResult()
        batch.touch(maker)
        batch.touch(taker)
        batch.fills.append(
            FillRecord(qty, "AAPL", aapl.id, Decimal(price), qty, taker, maker, "buy", WITH_MICROS)
        )
        persist(batch)
    position = Position.objects.get(account=alice, instrument=aapl)
    assert position.qty == 15
    assert position.avg_cost == Decimal("189.666667")  # (1895 + 950) / 15, 6 places
    assert Position.objects.get(account=bob, instrument=aapl).qty == -15


def test_each_fill_report_carries_the_position_right_after_that_fill(
    worker, make_account, settings
):
    from tests.worker.conftest import order_payload

    settings.RISK_CHECKS_ENABLED = False
    alice, bob = make_account("alice")[0], make_account("bob")[0]

    def order(account, n, **fields):
        body = {**order_payload(**fields), "id": str(uuid.uuid4()), "account_id": account.id}
        body["client_order_id"] = f"p{n}"
        return body

    worker.process_batch(
        [
            {
                "type": "orders.submit",
                "orders": [order(bob, 0, side="sell", qty=3, limit_price="189.00")],
            }
        ]
    )
    buys = [order(alice, n, type="market", qty=1, time_in_force="day") for n in (1, 2, 3)]
    result = worker.process_batch([{"type": "orders.submit", "orders": buys}])
    seen = {
        account: [
            r["position_qty"] for a, r in result.reports if a == account and "execution_id" in r
        ]
        for account in (alice.id, bob.id)
    }
    assert seen == {alice.id: [1, 2, 3], bob.id: [-1, -2, -3]}
