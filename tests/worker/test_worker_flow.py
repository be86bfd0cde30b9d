"""The worker applied in-process: REST orders in, fills, positions and cash out, exactly."""

import uuid
from decimal import Decimal

import pytest

from tests.worker.conftest import order_payload
from trading_app.matching_worker.worker import MatchingWorker
from trading_app.models import Account, Order, Position, Trade
from trading_app.services.orders import request_cancel, submit_order

pytestmark = pytest.mark.django_db


def submit(account, **fields) -> Order:
    return submit_order(account, order_payload(**fields))


def test_accepted_order_becomes_new_with_a_sequence(worker, alice):
    order = submit(alice[0], limit_price="189.50")
    assert order.status == "accepted" and order.seq is None
    worker.process_batch([])
    order.refresh_from_db()
    assert order.status == "new"
    assert order.seq is not None and order.priority == order.seq


def test_crossing_orders_fill_at_the_resting_price_and_move_positions_and_cash(worker, alice, bob):
    sell = submit(alice[0], side="sell", qty=10, limit_price="190.00")
    worker.process_batch([])
    buy = submit(bob[0], side="buy", qty=4, limit_price="191.00")
    worker.process_batch([])
    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (sell.status, sell.filled_qty) == ("partially_filled", 4)
    assert (buy.status, buy.filled_qty, buy.filled_avg_price) == ("filled", 4, Decimal("190"))
    trades = Trade.objects.filter(source="exchange").order_by("account__user__username")
    assert [
        (t.account.user.username, t.side, t.price, t.quantity, t.liquidity) for t in trades
    ] == [
        ("alice", "sell", Decimal("190"), 4, "maker"),
        ("bob", "buy", Decimal("190"), 4, "taker"),
    ]
    assert trades[0].execution_id == trades[1].execution_id
    assert Position.objects.get(account=bob[0]).qty == 4
    assert Position.objects.get(account=alice[0]).qty == -4
    assert Account.objects.get(pk=bob[0].pk).cash == Decimal("1000000") - 760
    assert Account.objects.get(pk=alice[0].pk).cash == Decimal("1000000") + 760


def test_orders_apply_in_acceptance_order_with_fifo_at_a_level(worker, alice, bob, make_account):
    carol, _ = make_account("carol")
    first = submit(alice[0], side="sell", qty=5, limit_price="190.00")
    second = submit(carol, side="sell", qty=5, limit_price="190.00")
    taker = submit(bob[0], side="buy", type="market", time_in_force="day", qty=7, limit_price=None)
    worker.process_batch([])
    for o in (first, second, taker):
        o.refresh_from_db()
    assert first.seq < second.seq < taker.seq
    assert (first.status, first.filled_qty) == ("filled", 5)
    assert (second.status, second.filled_qty) == ("partially_filled", 2)
    assert taker.status == "filled"


def test_market_order_without_liquidity_is_canceled_with_a_reason(worker, bob):
    order = submit(bob[0], type="market", time_in_force="day", qty=5)
    worker.process_batch([])
    order.refresh_from_db()
    assert order.status == "canceled"
    assert "no liquidity" in order.reject_reason


def test_cancel_request_cancels_a_live_order(worker, alice):
    order = submit(alice[0], limit_price="180.00")
    worker.process_batch([])
    request_cancel(Order.objects.get(pk=order.pk))
    worker.process_batch([{"type": "order.cancel", "id": str(order.id)}])
    order.refresh_from_db()
    assert order.status == "canceled" and order.canceled_at is not None


def test_cancel_requested_before_the_worker_saw_the_order(worker, alice):
    order = submit(alice[0], limit_price="180.00")
    request_cancel(order)  # still "accepted": the flag is durable, the worker honours it
    worker.process_batch([])
    order.refresh_from_db()
    assert order.status == "canceled"
    assert worker.engine.depth("AAPL")[0] == []


def test_channel_orders_are_inserted_and_duplicates_refused(worker, alice):
    oid = uuid.uuid4()
    payload = {
        **order_payload(limit_price="185.00", client_order_id="c-1"),
        "id": str(oid),
        "account_id": alice[0].id,
    }
    result = worker.process_batch([{"type": "orders.submit", "orders": [payload]}])
    assert Order.objects.get(pk=oid).status == "new"
    assert [r["event"] for _, r in result.reports] == ["new"]
    again = {**payload, "id": str(uuid.uuid4())}
    result = worker.process_batch([{"type": "order.submit", "order": again}])
    assert Order.objects.filter(account=alice[0], client_order_id="c-1").count() == 1
    ((account_id, error),) = result.errors
    assert account_id == alice[0].id and error["code"] == "duplicate_client_order_id"
    assert error["existing_order"]["id"] == str(oid)


def test_a_duplicate_within_one_batch_names_the_first_order(worker, alice):
    first = {**order_payload(limit_price="185.00", client_order_id="same"), "id": str(uuid.uuid4())}
    first["account_id"] = alice[0].id
    second = {**first, "id": str(uuid.uuid4())}
    result = worker.process_batch([{"type": "orders.submit", "orders": [first, second]}])
    ((_, error),) = result.errors
    assert error["code"] == "duplicate_client_order_id" and error["id"] == second["id"]
    assert error["existing_order"]["id"] == first["id"]
    assert Order.objects.filter(account=alice[0], client_order_id="same").count() == 1


def test_an_order_of_an_unknown_account_is_refused_and_the_batch_goes_on(worker, alice):
    """Orders and trades carry no database foreign keys (the worker is their one writer): the
    worker itself refuses an account that does not exist, and the rest of the batch books."""
    good = {**order_payload(limit_price="185.00", client_order_id="ok-1"), "id": str(uuid.uuid4())}
    good["account_id"] = alice[0].id
    ghost = {**order_payload(limit_price="185.00", client_order_id="ghost-1")}
    ghost.update(id=str(uuid.uuid4()), account_id=alice[0].id + 10_000)
    result = worker.process_batch([{"type": "orders.submit", "orders": [ghost, good]}])
    ((account_id, error),) = result.errors
    assert account_id == ghost["account_id"] and error["code"] == "invalid_order"
    assert error["message"] == "no such account" and error["client_order_id"] == "ghost-1"
    assert not Order.objects.filter(pk=ghost["id"]).exists()
    assert Order.objects.get(pk=good["id"]).status == "new"


def test_duplicate_of_a_finished_order_is_refused_from_the_database(worker, alice):
    payload = {
        **order_payload(type="market", time_in_force="ioc", client_order_id="m-1"),
        "id": str(uuid.uuid4()),
        "account_id": alice[0].id,
    }
    worker.process_batch([{"type": "orders.submit", "orders": [payload]}])  # canceled: no liquidity
    again = {**payload, "id": str(uuid.uuid4())}
    result = worker.process_batch([{"type": "orders.submit", "orders": [again]}])
    assert result.errors[0][1]["code"] == "duplicate_client_order_id"
    assert Order.objects.filter(client_order_id="m-1").count() == 1


def test_cancel_of_another_accounts_order_is_refused(worker, alice, bob):
    order = submit(alice[0], limit_price="180.00")
    worker.process_batch([])
    result = worker.process_batch(
        [{"type": "order.cancel", "id": str(order.id), "account_id": bob[0].id}]
    )
    assert result.errors[0] == (bob[0].id, result.errors[0][1])
    assert result.errors[0][1]["code"] == "unknown_order"
    order.refresh_from_db()
    assert order.status == "new"


def test_replace_smaller_keeps_priority_and_larger_loses_it(worker, alice, bob, make_account):
    carol, _ = make_account("carol")
    a = submit(alice[0], side="sell", qty=10, limit_price="190.00")
    c = submit(carol, side="sell", qty=10, limit_price="190.00")
    worker.process_batch([])
    worker.process_batch(
        [{"type": "order.replace", "id": str(a.id), "account_id": alice[0].id, "qty": 8}]
    )
    a.refresh_from_db()
    assert a.qty == 8 and a.priority == a.seq
    worker.process_batch(
        [{"type": "order.replace", "id": str(a.id), "account_id": alice[0].id, "qty": 12}]
    )
    a.refresh_from_db()
    c.refresh_from_db()
    assert a.qty == 12 and a.priority > c.seq
    submit(bob[0], side="buy", type="market", time_in_force="day", qty=10)
    worker.process_batch([])
    c.refresh_from_db()
    a.refresh_from_db()
    assert (c.status, a.filled_qty) == ("filled", 0)


def test_stop_order_triggers_on_last_trade_and_records_it(worker, alice, bob, make_account):
    carol, _ = make_account("carol")
    stop = submit(carol, side="buy", type="stop", time_in_force="gtc", stop_price="191.00", qty=3)
    submit(alice[0], side="sell", qty=10, limit_price="191.00")
    worker.process_batch([])
    stop.refresh_from_db()
    assert stop.status == "new" and stop.triggered_at is None
    submit(bob[0], side="buy", qty=2, limit_price="191.00")  # trades at 191: the stop triggers
    worker.process_batch([])
    stop.refresh_from_db()
    assert stop.triggered_at is not None
    assert (stop.status, stop.filled_qty) == ("filled", 3)


def test_session_end_expires_day_orders_only(worker, alice):
    day = submit(alice[0], limit_price="180.00", time_in_force="day")
    gtc = submit(alice[0], limit_price="181.00", time_in_force="gtc")
    worker.process_batch([])
    worker.process_batch([{"type": "session.end"}])
    day.refresh_from_db()
    gtc.refresh_from_db()
    assert (day.status, gtc.status) == ("expired", "new")


def test_halted_account_orders_are_rejected_and_halt_cancels_open_orders(worker, alice):
    resting = submit(alice[0], limit_price="180.00")
    worker.process_batch([])
    Account.objects.filter(pk=alice[0].pk).update(halted=True, halted_reason="halted by test")
    worker.process_batch([{"type": "account.halt", "account_id": alice[0].id}])
    late = submit(alice[0], limit_price="181.00")
    worker.process_batch([])
    resting.refresh_from_db()
    late.refresh_from_db()
    assert resting.status == "canceled"
    assert late.status == "rejected" and late.reject_reason.startswith("ACCOUNT_HALTED")


def test_recovery_rebuilds_books_in_priority_order(instruments, alice, bob, settings):
    from trading_app.matching_worker.worker import MatchingWorker

    settings.SESSION_END_UTC = ""
    w = MatchingWorker()
    w.recover()
    a = submit(alice[0], side="sell", qty=5, limit_price="190.00")
    b = submit(bob[0], side="sell", qty=5, limit_price="190.00")
    submit(alice[0], side="buy", qty=3, limit_price="189.00")
    w.process_batch([])
    w.process_batch(
        [{"type": "order.replace", "id": str(a.id), "account_id": alice[0].id, "qty": 6}]
    )
    before = (w.engine.depth("AAPL", 10), [o for o in w.engine.open_order_ids("AAPL")])
    fresh = MatchingWorker()
    fresh.recover()
    assert fresh.engine.depth("AAPL", 10) == before[0]
    # b now has priority over a at 190.00 (a's larger replace sent it to the back)
    taker = submit(alice[0], side="buy", type="market", time_in_force="day", qty=5)
    fresh.process_batch([])
    b.refresh_from_db()
    taker.refresh_from_db()
    assert b.status == "filled" and taker.status == "filled"
    assert fresh.next_number() > Order.objects.order_by("-seq").first().seq


def test_a_restarted_worker_knows_the_last_trades(worker, alice, bob, settings):
    settings.RISK_CHECKS_ENABLED = False
    sell = {**order_payload(side="sell", limit_price="185.00", client_order_id="s1", qty=4)}
    sell.update(id=str(uuid.uuid4()), account_id=bob[0].id)
    buy = {**order_payload(limit_price="185.00", client_order_id="b1", qty=4)}
    buy.update(id=str(uuid.uuid4()), account_id=alice[0].id)
    worker.process_batch([{"type": "orders.submit", "orders": [sell]}])
    worker.process_batch([{"type": "orders.submit", "orders": [buy]}])
    before = worker.book_snapshot("AAPL")["trades"]
    assert [(t["price"], t["qty"], t["side"]) for t in before] == [("185.00", 4, "buy")]

    restarted = MatchingWorker()
    restarted.recover()
    assert restarted.book_snapshot("AAPL")["trades"] == before
