"""Two orders of one account racing each other can never together break a limit.

The checks run in the matching worker, the single writer of its shard, against state that counts
every order it already let through, so "two buys of 60 under a position limit of 100" ends with
exactly one accepted however the two arrive.
"""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.risk.conftest import payload, set_limits
from trading_app.models import Order

BUY_60 = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 60, "limit_price": "190.00"}


def outcome(orders) -> list[str]:
    return sorted(o.status for o in orders)


@pytest.mark.django_db(transaction=True)
def test_concurrent_rest_orders_cannot_together_break_the_position_limit(alice, worker):
    account, token = alice
    set_limits(account, max_position_qty=100)
    barrier = threading.Barrier(2)
    responses: list = []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        try:
            responses.append(client.post("/api/orders/", BUY_60, format="json"))
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in responses] == [201, 201]
    worker.process_batch([])
    orders = list(Order.objects.filter(account=account))
    assert outcome(orders) == ["new", "rejected"]
    (refused,) = [o for o in orders if o.status == "rejected"]
    assert refused.reject_reason.startswith("MAX_POSITION: ")


@pytest.mark.django_db
def test_two_orders_in_one_batch_cannot_together_break_the_position_limit(alice, worker):
    set_limits(alice[0], max_position_qty=100)
    bodies = [payload(alice[0], qty=60), payload(alice[0], qty=60)]
    worker.process_batch([{"type": "orders.submit", "orders": bodies}])
    orders = Order.objects.filter(id__in=[b["id"] for b in bodies])
    assert outcome(orders) == ["new", "rejected"]


@pytest.mark.django_db
def test_rest_and_websocket_orders_share_one_limit(alice, worker):
    from trading_app.services.orders import submit_order

    set_limits(alice[0], max_position_qty=100)
    rest = submit_order(alice[0], BUY_60)
    ws = payload(alice[0], qty=60)
    worker.process_batch([{"type": "orders.submit", "orders": [ws]}, {"type": "orders.accepted"}])
    orders = [Order.objects.get(id=rest.id), Order.objects.get(id=ws["id"])]
    assert outcome(orders) == ["new", "rejected"]


@pytest.mark.django_db
def test_two_buys_cannot_together_spend_the_cash_twice(make_account, worker, instruments):
    poor = make_account("poor", cash="20000")  # one 60 x 190 = 11400 fits, two do not
    bodies = [payload(poor[0], qty=60), payload(poor[0], qty=60)]
    worker.process_batch([{"type": "orders.submit", "orders": bodies}])
    orders = list(Order.objects.filter(id__in=[b["id"] for b in bodies]))
    assert outcome(orders) == ["new", "rejected"]
    assert [o for o in orders if o.status == "rejected"][0].reject_reason.startswith(
        "BUYING_POWER: "
    )


@pytest.mark.django_db
def test_a_cancel_frees_what_the_order_reserved(alice, worker):
    set_limits(alice[0], max_position_qty=100)
    first = payload(alice[0], qty=60)
    worker.process_batch([{"type": "orders.submit", "orders": [first]}])
    worker.process_batch([{"type": "order.cancel", "id": first["id"], "account_id": alice[0].id}])
    second = payload(alice[0], qty=100)
    worker.process_batch([{"type": "orders.submit", "orders": [second]}])
    assert Order.objects.get(id=second["id"]).status == "new"


@pytest.mark.django_db
def test_a_replace_cannot_grow_an_order_past_a_limit(alice, worker):
    set_limits(alice[0], max_position_qty=100)
    first = payload(alice[0], qty=60)
    worker.process_batch([{"type": "orders.submit", "orders": [first]}])
    result = worker.process_batch(
        [{"type": "order.replace", "id": first["id"], "account_id": alice[0].id, "qty": 101}]
    )
    (error,) = [e for _, e in result.errors]
    assert error["code"] == "replace_rejected" and error["message"].startswith("MAX_POSITION: ")
    worker.process_batch(
        [{"type": "order.replace", "id": first["id"], "account_id": alice[0].id, "qty": 100}]
    )
    assert Order.objects.get(id=first["id"]).qty == 100
    extra = payload(alice[0], qty=1)
    worker.process_batch([{"type": "orders.submit", "orders": [extra]}])
    assert Order.objects.get(id=extra["id"]).reject_reason.startswith("MAX_POSITION: ")
