"""The kill switch: a halt cancels every open order of its scope and nothing new gets through,
including orders still "accepted" when the halt lands, until trading is resumed."""

import pytest

from tests.risk.conftest import drain, payload
from trading_app.models import Account, ExchangeStatus, Order
from trading_app.services.orders import submit_order

pytestmark = pytest.mark.django_db

SHARD = "matching.shard.0"
NUDGE = {"type": "orders.accepted", "ids": []}  # what submit_order sends after its commit


@pytest.fixture
def staff(make_account, make_client, instruments):
    account, token = make_account("risk-officer", staff=True)
    return account, make_client(token)


@pytest.fixture(autouse=True)
def empty_inbox(instruments):
    drain(SHARD, 0.05)  # nothing left over from other tests


def rest(account, **fields) -> Order:
    body = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 5, "limit_price": "185.00"}
    body.update(fields)
    return submit_order(account, body)


def open_book(worker, alice, bob):
    """Resting orders of alice in two instruments (REST and WS), one of bob."""
    resting = [rest(alice[0]), rest(alice[0], symbol="MSFT", side="sell", limit_price="425.00")]
    ws = payload(alice[0], limit_price="186.00")
    worker.process_batch([{"type": "orders.submit", "orders": [ws]}])
    bobs = rest(bob[0], limit_price="184.00")
    worker.process_batch([])
    orders = [*resting, Order.objects.get(id=ws["id"])]
    for o in [*orders, bobs]:
        o.refresh_from_db()
        assert o.status == "new"
    return orders, bobs


def post(client, url, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url, body, format="json")


def test_account_halt_cancels_its_orders_and_rejects_new_ones(
    worker, alice, bob, alice_client, django_capture_on_commit_callbacks
):
    orders, bobs = open_book(worker, alice, bob)
    pending = rest(alice[0], limit_price="183.00")  # still "accepted" when the halt lands

    response = post(
        alice_client, "/api/risk/halt/", {"scope": "account"}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 200, response.content
    assert response.json()["halted"] is True
    assert Account.objects.get(pk=alice[0].pk).halted

    inbox = drain(SHARD)
    assert {"type": "account.halt", "account_id": alice[0].id} in inbox
    worker.process_batch([*inbox, NUDGE])
    for o in orders:
        o.refresh_from_db()
        assert o.status == "canceled"
    pending.refresh_from_db()
    assert pending.status == "rejected" and pending.reject_reason.startswith("ACCOUNT_HALTED: ")
    bobs.refresh_from_db()
    assert bobs.status == "new"  # another account's order is untouched

    late_rest = rest(alice[0])
    late_ws = payload(alice[0])
    worker.process_batch([{"type": "orders.submit", "orders": [late_ws]}, NUDGE])
    late_rest.refresh_from_db()
    for o in (late_rest, Order.objects.get(id=late_ws["id"])):
        assert o.status == "rejected"
        assert o.reject_reason.startswith("ACCOUNT_HALTED: trading is halted for this account")

    response = alice_client.post("/api/risk/resume/", {"scope": "account"}, format="json")
    assert response.status_code == 200 and response.json()["halted"] is False
    again = rest(alice[0])
    worker.process_batch([])
    again.refresh_from_db()
    assert again.status == "new"


def test_exchange_halt_is_staff_only_and_stops_everyone(
    worker, alice, bob, alice_client, staff, django_capture_on_commit_callbacks
):
    _, staff_client = staff
    response = alice_client.post("/api/risk/halt/", {"scope": "exchange"}, format="json")
    assert response.status_code == 403
    orders, bobs = open_book(worker, alice, bob)

    response = post(
        staff_client,
        "/api/risk/halt/",
        {"scope": "exchange", "reason": "market-wide circuit breaker"},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200 and ExchangeStatus.get().halted
    inbox = drain(SHARD)
    assert {"type": "account.halt", "account_id": None} in inbox
    worker.process_batch([*inbox, NUDGE])
    for o in [*orders, bobs]:
        o.refresh_from_db()
        assert o.status == "canceled"
    late = rest(bob[0])
    worker.process_batch([])
    late.refresh_from_db()
    assert late.reject_reason == "EXCHANGE_HALTED: market-wide circuit breaker"

    assert staff_client.post("/api/risk/resume/", {"scope": "exchange"}).status_code == 200
    again = rest(bob[0])
    worker.process_batch([])
    again.refresh_from_db()
    assert again.status == "new"


def test_staff_halts_another_account_owners_cannot(
    alice, bob, alice_client, staff, django_capture_on_commit_callbacks
):
    _, staff_client = staff
    response = alice_client.post(
        "/api/risk/halt/", {"scope": "account", "account": "bob"}, format="json"
    )
    assert response.status_code == 403
    response = post(
        staff_client,
        "/api/risk/halt/",
        {"scope": "account", "account": "bob", "reason": "margin call"},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 200
    bob_account = Account.objects.get(pk=bob[0].pk)
    assert bob_account.halted and bob_account.halted_reason == "margin call"


@pytest.mark.parametrize("body", [{}, {"scope": "world"}, {"scope": "account", "account": 5}])
def test_bad_halt_requests_are_400(alice_client, body):
    response = alice_client.post("/api/risk/halt/", body, format="json")
    assert response.status_code == 400


def test_admin_actions_halt_and_resume_accounts_and_the_exchange(
    alice, bob, client, make_account, django_capture_on_commit_callbacks
):
    make_account("admin", superuser=True)
    client.login(username="admin", password="pw-admin")
    ids = [alice[0].pk, bob[0].pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/trading_app/account/",
            {"action": "halt_accounts", "_selected_action": ids},
        )
    assert response.status_code == 302
    assert Account.objects.filter(pk__in=ids, halted=True).count() == 2
    halts = [m for m in drain(SHARD) if m["type"] == "account.halt"]
    assert {m["account_id"] for m in halts} == set(ids)
    client.post(
        "/admin/trading_app/account/", {"action": "resume_accounts", "_selected_action": ids}
    )
    assert not Account.objects.filter(pk__in=ids, halted=True).exists()

    status = ExchangeStatus.get()
    client.post(
        "/admin/trading_app/exchangestatus/",
        {"action": "halt_exchange", "_selected_action": [status.pk]},
    )
    assert ExchangeStatus.get().halted
    client.post(
        "/admin/trading_app/exchangestatus/",
        {"action": "resume_exchange", "_selected_action": [status.pk]},
    )
    assert not ExchangeStatus.get().halted


def test_a_halt_the_daily_loss_limit_imposed_is_lifted_by_staff_only(
    alice, alice_client, staff, django_capture_on_commit_callbacks
):
    """An owner may lift their own kill switch, not the loss limit's halt (else the limit would
    be advisory: the trial that found it lifted it with one POST)."""
    from trading_app.risk import codes, halts

    _, staff_client = staff
    with django_capture_on_commit_callbacks(execute=False):
        halts.halt_account(alice[0].id, codes.reason(codes.DAILY_LOSS, "the day's P&L ..."))
    response = alice_client.post("/api/risk/resume/", {"scope": "account"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "the account was halted by the risk limit DAILY_LOSS: only staff can resume it"
    }
    assert Account.objects.get(pk=alice[0].pk).halted
    response = staff_client.post(
        "/api/risk/resume/", {"scope": "account", "account": "alice"}, format="json"
    )
    assert response.status_code == 200 and response.json()["halted"] is False
    assert not Account.objects.get(pk=alice[0].pk).halted
