"""The gate keeps accounts in memory and re-reads only what changed outside the worker (one
query per batch: trading_app.risk.changes). Each change below is made while the worker already
holds the account, and must decide the very next batch."""

from decimal import Decimal

import pytest

from tests.risk.conftest import payload, set_limits
from trading_app.models import Account, ExchangeStatus, RiskChange, RiskLimits
from trading_app.services.trades import create_manual_trade, delete_manual_trade

pytestmark = pytest.mark.django_db


def submit(worker, account, **fields):
    body = payload(account, **fields)
    worker.process_batch([{"type": "orders.submit", "orders": [body]}])
    from trading_app.models import Order

    return Order.objects.get(id=body["id"])


def rejected_with(order, code: str) -> bool:
    return order.status == "rejected" and order.reject_reason.startswith(f"{code}: ")


def test_a_limit_change_takes_effect_on_the_next_batch(worker, alice):
    assert submit(worker, alice[0], qty=60).status == "new"  # the gate now holds alice
    set_limits(alice[0], max_order_qty=50)  # what PATCH /api/risk/limits/ and the admin do
    assert rejected_with(submit(worker, alice[0], qty=60), "MAX_ORDER_QTY")
    RiskLimits.objects.filter(account=alice[0]).update(max_order_qty=100)  # no save(): trigger
    assert submit(worker, alice[0], qty=60).status == "new"
    RiskLimits.objects.filter(account=alice[0]).delete()  # back to the defaults
    set_limits(alice[0], max_position_qty=100)
    assert rejected_with(submit(worker, alice[0], qty=60), "MAX_POSITION")  # 60 + 60 + 60 open


def test_limits_api_change_reaches_the_worker(worker, alice, make_account, make_client):
    _admin, token = make_account("boss", staff=True)
    assert submit(worker, alice[0], qty=60).status == "new"
    client = make_client(token)
    response = client.patch("/api/risk/limits/?account=alice", {"max_order_qty": 50}, format="json")
    assert response.status_code == 200, response.content
    assert rejected_with(submit(worker, alice[0], qty=60), "MAX_ORDER_QTY")


def test_halt_and_resume_take_effect_on_the_next_batch(worker, alice, alice_client):
    assert submit(worker, alice[0]).status == "new"
    response = alice_client.post("/api/risk/halt/", {"scope": "account"}, format="json")
    assert response.status_code == 200
    assert rejected_with(submit(worker, alice[0]), "ACCOUNT_HALTED")
    assert alice_client.post("/api/risk/resume/", {"scope": "account"}).status_code == 200
    assert submit(worker, alice[0]).status == "new"
    # a bare update (shell, another tool) is seen too: the trigger records it
    Account.objects.filter(pk=alice[0].pk).update(halted=True, halted_reason="by hand")
    order = submit(worker, alice[0])
    assert order.reject_reason == "ACCOUNT_HALTED: by hand"
    Account.objects.filter(pk=alice[0].pk).update(halted=False, halted_reason="")
    assert submit(worker, alice[0]).status == "new"


def test_exchange_halt_and_resume_take_effect_on_the_next_batch(worker, alice):
    assert submit(worker, alice[0]).status == "new"
    status = ExchangeStatus.get()
    status.halted, status.reason = True, "fire drill"
    status.save()
    assert submit(worker, alice[0]).reject_reason == "EXCHANGE_HALTED: fire drill"
    ExchangeStatus.objects.filter(pk=1).update(halted=False, reason="")
    assert submit(worker, alice[0]).status == "new"


def test_a_manual_trade_moves_cash_and_position_for_the_next_batch(
    worker, make_account, instruments
):
    poor = make_account("poor", cash="20000")
    aapl = instruments["AAPL"]
    assert submit(worker, poor[0], qty=50, limit_price="190.00").status == "new"  # 9,500 held
    # a manual buy of 50 at 190 spends 9,500 of the cash outside the worker: 1,000 left
    trade = create_manual_trade(poor[0], aapl, "buy", Decimal("190"), 50)
    order = submit(worker, poor[0], qty=10, limit_price="190.00")
    assert rejected_with(order, "BUYING_POWER"), order.reject_reason
    # the position it bought counts for the position limit at once too
    set_limits(poor[0], max_position_qty=105)
    assert rejected_with(submit(worker, poor[0], side="buy", qty=6), "MAX_POSITION")
    delete_manual_trade(trade)  # cash and position back
    set_limits(poor[0], max_position_qty=None)
    assert submit(worker, poor[0], qty=10, limit_price="190.00").status == "new"


def test_manual_trade_through_the_api_reaches_the_worker(worker, make_account, make_client):
    poor, token = make_account("poor", cash="20000")
    assert submit(worker, poor, qty=50, limit_price="190.00").status == "new"
    client = make_client(token)
    response = client.post(
        "/api/trades/",
        {"ticker": "AAPL", "side": "buy", "price": "190.00", "quantity": 50},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert rejected_with(submit(worker, poor, qty=10, limit_price="190.00"), "BUYING_POWER")


def test_one_query_per_batch_for_accounts_already_held(worker, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert submit(worker, alice[0]).status == "new"
    body = payload(alice[0])
    with CaptureQueriesContext(connection) as queries:
        worker.process_batch([{"type": "orders.submit", "orders": [body]}])
    gate_reads = [
        q["sql"]
        for q in queries
        if any(
            t in q["sql"]
            for t in (
                "trading_app_riskchange",
                "trading_app_risklimits",
                "trading_app_exchangestatus",
                '"trading_app_account"."halted"',
            )
        )
    ]
    assert len(gate_reads) == 1 and "trading_app_riskchange" in gate_reads[0], gate_reads


def test_changes_are_pruned_after_an_hour(db):
    from datetime import timedelta

    from django.utils import timezone

    from trading_app.risk.changes import note_risk_change, prune

    note_risk_change([1, 2])
    RiskChange.objects.filter(account_id=1).update(created_at=timezone.now() - timedelta(hours=2))
    assert prune() == 1
    assert list(RiskChange.objects.values_list("account_id", flat=True)) == [2]


def test_a_late_commit_with_a_smaller_id_is_not_missed(db):
    """Sequence ids are taken at insert, rows appear at commit: a row below one already seen is
    still reported while it is within the window."""
    from trading_app.risk.changes import ChangeFeed, note_risk_change

    feed = ChangeFeed()
    feed.start()
    note_risk_change([1])
    note_risk_change([2])
    late = RiskChange.objects.get(account_id=1)
    late.delete()  # as if its transaction had not committed yet
    assert feed.poll() == ({2}, False)
    RiskChange.objects.create(id=late.id, account_id=1)  # now it commits
    assert feed.poll() == ({1}, False)
    assert feed.poll() == (set(), False)
