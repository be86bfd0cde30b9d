"""/api/orders/: Alpaca-shaped order entry, listing, look-up and cancel."""

import itertools
import threading
import uuid

import pytest
from django.db import connection

from trading_app.models import Order, OrderStatus

pytestmark = pytest.mark.django_db

ORDER_FIELDS = {
    "id",
    "client_order_id",
    "symbol",
    "side",
    "type",
    "time_in_force",
    "qty",
    "limit_price",
    "stop_price",
    "status",
    "filled_qty",
    "filled_avg_price",
    "reject_reason",
    "created_at",
    "submitted_at",
    "updated_at",
    "filled_at",
    "canceled_at",
    "expired_at",
}

PRICES_BY_TYPE = {
    "market": {},
    "limit": {"limit_price": "189.50"},
    "stop": {"stop_price": "195.00"},
    "stop_limit": {"stop_price": "195.00", "limit_price": "195.50"},
}


def post_order(client, **fields):
    body = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 10, "limit_price": "189.50"}
    body.update(fields)
    response = client.post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def set_status(order_id, status):
    Order.objects.filter(pk=order_id).update(status=status)


# --- create ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order_type,tif", list(itertools.product(PRICES_BY_TYPE, ["day", "gtc", "ioc", "fok"]))
)
def test_every_type_and_time_in_force_is_accepted(alice, alice_client, order_type, tif):
    body = {
        "symbol": "AAPL",
        "side": "sell",
        "type": order_type,
        "qty": 7,
        "time_in_force": tif,
        **PRICES_BY_TYPE[order_type],
    }
    response = alice_client.post("/api/orders/", body, format="json")

    assert response.status_code == 201, response.content
    order = response.json()
    assert set(order) >= ORDER_FIELDS
    assert order["status"] == "accepted"
    assert order["type"] == order_type
    assert order["time_in_force"] == tif
    assert order["symbol"] == "AAPL"
    assert order["side"] == "sell"
    assert order["qty"] == 7
    assert order["filled_qty"] == 0
    assert order["filled_avg_price"] is None
    assert order["reject_reason"] == ""
    assert order["limit_price"] == PRICES_BY_TYPE[order_type].get("limit_price")
    assert order["stop_price"] == PRICES_BY_TYPE[order_type].get("stop_price")
    row = Order.objects.get(pk=order["id"])
    assert row.account == alice[0]
    assert row.status == OrderStatus.ACCEPTED
    assert row.seq is None


def test_time_in_force_defaults_to_day_and_a_client_order_id_is_generated(alice_client):
    order = post_order(alice_client)
    assert order["time_in_force"] == "day"
    assert uuid.UUID(order["client_order_id"])


def test_the_given_client_order_id_is_kept(alice_client):
    assert post_order(alice_client, client_order_id="my-order-1")["client_order_id"] == "my-order-1"


def test_symbol_side_and_type_are_case_insensitive(alice_client):
    order = post_order(alice_client, symbol="aapl", side="BUY", type="Limit")
    assert (order["symbol"], order["side"], order["type"]) == ("AAPL", "buy", "limit")


def test_limit_price_keeps_its_decimals(alice_client):
    assert post_order(alice_client, limit_price=189.55)["limit_price"] == "189.55"


def test_duplicate_client_order_id_is_400_and_books_one_order(alice, alice_client):
    post_order(alice_client, client_order_id="dup-1")
    response = alice_client.post(
        "/api/orders/",
        {"symbol": "MSFT", "side": "sell", "type": "market", "qty": 1, "client_order_id": "dup-1"},
        format="json",
    )
    assert response.status_code == 400
    assert "client_order_id" in response.json()
    assert Order.objects.filter(account=alice[0], client_order_id="dup-1").count() == 1


def test_two_accounts_may_use_the_same_client_order_id(alice_client, bob_client):
    post_order(alice_client, client_order_id="shared")
    post_order(bob_client, client_order_id="shared")
    assert Order.objects.filter(client_order_id="shared").count() == 2


# --- list, retrieve, look-up -----------------------------------------------------------------


@pytest.fixture
def mixed_orders(alice_client):
    """Open AAPL, open MSFT, filled AAPL, canceled MSFT."""
    open_aapl = post_order(alice_client)
    open_msft = post_order(alice_client, symbol="MSFT", limit_price="400.00")
    filled = post_order(alice_client, type="market", limit_price=None)
    canceled = post_order(alice_client, symbol="MSFT", limit_price="401.00")
    set_status(filled["id"], OrderStatus.FILLED)
    set_status(canceled["id"], OrderStatus.CANCELED)
    return open_aapl, open_msft, filled, canceled


def listed_ids(client, query=""):
    response = client.get(f"/api/orders/{query}")
    assert response.status_code == 200, response.content
    return {o["id"] for o in response.json()["results"]}


def test_list_defaults_to_open_orders(alice_client, mixed_orders):
    open_aapl, open_msft, _, _ = mixed_orders
    assert listed_ids(alice_client) == {open_aapl["id"], open_msft["id"]}
    assert listed_ids(alice_client, "?status=open") == {open_aapl["id"], open_msft["id"]}


def test_list_closed_and_all(alice_client, mixed_orders):
    _, _, filled, canceled = mixed_orders
    assert listed_ids(alice_client, "?status=closed") == {filled["id"], canceled["id"]}
    assert listed_ids(alice_client, "?status=all") == {o["id"] for o in mixed_orders}


def test_list_filters_by_symbol(alice_client, mixed_orders):
    open_aapl, open_msft, filled, canceled = mixed_orders
    assert listed_ids(alice_client, "?symbol=msft&status=all") == {open_msft["id"], canceled["id"]}
    assert listed_ids(alice_client, "?symbol=AAPL") == {open_aapl["id"]}


def test_list_with_an_unknown_status_is_400(alice_client):
    response = alice_client.get("/api/orders/?status=pending")
    assert response.status_code == 400
    assert "status" in response.json()


def test_retrieve_returns_the_order(alice_client):
    order = post_order(alice_client)
    response = alice_client.get(f"/api/orders/{order['id']}/")
    assert response.status_code == 200
    assert response.json() == order


@pytest.mark.parametrize("bad_id", [uuid.uuid4(), "not-a-uuid"])
def test_retrieve_of_an_unknown_or_malformed_id_is_404(alice_client, bad_id):
    response = alice_client.get(f"/api/orders/{bad_id}/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_by_client_order_id_finds_open_and_closed_orders(alice_client):
    order = post_order(alice_client, client_order_id="look-me-up")
    set_status(order["id"], OrderStatus.FILLED)
    response = alice_client.get("/api/orders/by_client_order_id/?client_order_id=look-me-up")
    assert response.status_code == 200
    assert response.json()["id"] == order["id"]
    assert response.json()["status"] == "filled"


def test_by_client_order_id_unknown_is_404_and_missing_parameter_is_400(alice_client):
    assert alice_client.get("/api/orders/by_client_order_id/?client_order_id=x").status_code == 404
    response = alice_client.get("/api/orders/by_client_order_id/")
    assert response.status_code == 400
    assert "client_order_id" in response.json()


# --- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [OrderStatus.ACCEPTED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]
)
def test_delete_of_an_open_order_is_202_with_cancel_requested(alice_client, status):
    order = post_order(alice_client)
    set_status(order["id"], status)

    response = alice_client.delete(f"/api/orders/{order['id']}/")

    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True
    assert response.json()["status"] == status
    assert Order.objects.get(pk=order["id"]).cancel_requested is True


@pytest.mark.parametrize(
    "status",
    [OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED],
)
def test_delete_of_a_closed_order_is_422(alice_client, status):
    order = post_order(alice_client)
    set_status(order["id"], status)

    response = alice_client.delete(f"/api/orders/{order['id']}/")

    assert response.status_code == 422
    assert status in response.json()["detail"]
    assert Order.objects.get(pk=order["id"]).cancel_requested is False


# --- isolation -------------------------------------------------------------------------------


def test_another_account_cannot_see_or_cancel_an_order(alice_client, bob_client):
    order = post_order(alice_client, client_order_id="alice-only")

    assert bob_client.get(f"/api/orders/{order['id']}/").status_code == 404
    assert bob_client.delete(f"/api/orders/{order['id']}/").status_code == 404
    lookup = bob_client.get("/api/orders/by_client_order_id/?client_order_id=alice-only")
    assert lookup.status_code == 404
    assert listed_ids(bob_client, "?status=all") == set()
    assert Order.objects.get(pk=order["id"]).cancel_requested is False


def test_orders_cannot_be_overwritten_through_put(alice_client):
    order = post_order(alice_client)
    url = f"/api/orders/{order['id']}/"
    assert alice_client.put(url, {"qty": 1}, format="json").status_code == 405
    assert Order.objects.get(pk=order["id"]).qty == 10


# --- replace (PATCH) -------------------------------------------------------------------------


@pytest.fixture
def worker(instruments, settings):
    from tests.risk.conftest import drain
    from trading_app.matching_worker.worker import MatchingWorker

    settings.SESSION_END_UTC = ""
    drain("matching.shard.0", 0.05)  # nothing left over from other tests
    w = MatchingWorker()
    w.recover()
    return w


def run_worker(worker):
    """Hand the worker what reached its inbox (as its runner would), return the batch result."""
    from tests.risk.conftest import drain

    return worker.process_batch(drain("matching.shard.0", 0.1))


def test_patch_replaces_qty_and_limit_price_through_the_worker(alice, alice_client, worker):
    order = post_order(alice_client, qty=10, limit_price="189.50")
    run_worker(worker)
    assert Order.objects.get(pk=order["id"]).status == "new"

    url = f"/api/orders/{order['id']}/"
    response = alice_client.patch(url, {"qty": 20, "limit_price": "189.40"}, format="json")
    assert response.status_code == 202, response.content
    assert (response.json()["qty"], response.json()["limit_price"]) == (10, "189.50")  # as sent

    result = run_worker(worker)
    replaced = Order.objects.get(pk=order["id"])
    assert (replaced.qty, str(replaced.limit_price)) == (20, "189.400000")
    assert replaced.status == "new"
    events = [report["event"] for _, report in result.reports]
    assert events == ["replaced"]
    assert alice_client.get(url).json()["qty"] == 20


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"limit_price": "189.505"}, {"limit_price": ["must be a multiple of the tick size 0.01"]}),
        ({"qty": 0}, {"qty": ["must be greater than zero"]}),
        (
            {"side": "sell"},
            {"side": ["cannot be replaced: a replace changes qty and/or limit_price"]},
        ),
        ({}, {"non_field_errors": ["give qty and/or limit_price"]}),
    ],
)
def test_patch_with_bad_fields_is_a_400_naming_them(alice_client, body, errors):
    order = post_order(alice_client)
    response = alice_client.patch(f"/api/orders/{order['id']}/", body, format="json")
    assert response.status_code == 400
    assert response.json() == errors


def test_patch_of_a_market_orders_limit_price_is_a_400(alice_client):
    order = post_order(alice_client, type="market", limit_price=None, time_in_force="day")
    response = alice_client.patch(
        f"/api/orders/{order['id']}/", {"limit_price": "190.00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"limit_price": ["a market order has no limit price"]}


def test_patch_of_a_closed_or_canceling_order_is_a_422(alice_client):
    order = post_order(alice_client)
    url = f"/api/orders/{order['id']}/"
    set_status(order["id"], OrderStatus.FILLED)
    assert alice_client.patch(url, {"qty": 5}, format="json").json() == {
        "detail": "order is already filled"
    }
    set_status(order["id"], OrderStatus.NEW)
    assert alice_client.delete(url).status_code == 202
    response = alice_client.patch(url, {"qty": 5}, format="json")
    assert response.status_code == 422
    assert response.json() == {"detail": "order is already being canceled"}


def test_another_account_cannot_replace_an_order(alice_client, bob_client):
    order = post_order(alice_client)
    url = f"/api/orders/{order['id']}/"
    assert bob_client.patch(url, {"qty": 5}, format="json").status_code == 404
    assert Order.objects.get(pk=order["id"]).qty == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_with_one_client_order_id_book_exactly_one(alice, make_client):
    """The existence check and the insert are not atomic; the unique constraint must decide."""
    token = alice[1]
    body = {"symbol": "AAPL", "side": "buy", "type": "market", "qty": 1, "client_order_id": "race"}
    barrier = threading.Barrier(6)
    statuses: list[tuple[int, dict]] = []

    def submit():
        try:
            barrier.wait()
            response = make_client(token).post("/api/orders/", body, format="json")
            statuses.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    codes = sorted(code for code, _ in statuses)
    assert codes == [201, 400, 400, 400, 400, 400], statuses
    assert all("client_order_id" in body for code, body in statuses if code == 400)
    assert Order.objects.filter(account=alice[0], client_order_id="race").count() == 1


def test_list_filters_by_side(alice_client):
    buy = post_order(alice_client)
    sell = post_order(alice_client, side="sell")
    assert listed_ids(alice_client, "?side=buy") == {buy["id"]}
    assert listed_ids(alice_client, "?side=sell") == {sell["id"]}
    response = alice_client.get("/api/orders/?side=short")
    assert response.status_code == 400
    assert "side" in response.json()


def test_an_off_tick_websocket_replace_is_refused_by_the_worker_naming_the_field(
    alice, alice_client, worker
):
    """The WebSocket gateway cannot check the tick of a replace that names only the order: the
    worker does, and says which field, as REST would."""
    order = post_order(alice_client)
    run_worker(worker)
    message = {"type": "order.replace", "id": order["id"], "account_id": alice[0].id}
    result = worker.process_batch([{**message, "limit_price": "189.505"}])
    [(account_id, error)] = result.errors
    assert account_id == alice[0].id
    assert error["code"] == "invalid_replace"
    assert error["message"] == "limit_price: must be a multiple of the tick size 0.01"
    assert error["errors"] == {"limit_price": ["must be a multiple of the tick size 0.01"]}
    assert str(Order.objects.get(pk=order["id"]).limit_price) == "189.500000"
