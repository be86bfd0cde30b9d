"""GET/PATCH /api/risk/limits/: owners read their own, staff read any and change them."""

from decimal import Decimal

import pytest

from trading_app.models import RiskLimits

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_account, make_client, instruments):
    _, token = make_account("risk-officer", staff=True)
    return make_client(token)


def test_owner_reads_its_effective_limits_overrides_and_defaults(alice, alice_client, settings):
    RiskLimits.objects.create(account=alice[0], max_order_qty=50)
    body = alice_client.get("/api/risk/limits/").json()
    assert body["account"] == "alice"
    assert body["limits"]["max_order_qty"] == 50
    assert body["overrides"]["max_order_qty"] == 50
    assert body["overrides"]["max_daily_loss"] is None
    defaults = settings.RISK_DEFAULTS
    assert body["defaults"]["max_order_qty"] == defaults["max_order_qty"]
    assert body["limits"]["price_collar_pct"] == format(
        defaults["price_collar_pct"].normalize(), "f"
    )
    assert set(body["limits"]) == {
        "max_order_qty",
        "max_order_notional",
        "max_position_qty",
        "max_gross_exposure",
        "price_collar_pct",
        "max_orders_per_second",
        "max_volume_pct",
        "max_daily_loss",
    }
    assert body["halted"] is False and body["exchange_halted"] is False


def test_owner_cannot_read_another_account(alice_client, bob):
    response = alice_client.get("/api/risk/limits/?account=bob")
    assert response.status_code == 403


def test_staff_reads_any_account(staff_client, alice):
    response = staff_client.get("/api/risk/limits/?account=alice")
    assert response.status_code == 200 and response.json()["account"] == "alice"
    assert staff_client.get("/api/risk/limits/?account=nobody").status_code == 404


def test_only_staff_change_limits(alice_client, alice):
    response = alice_client.patch("/api/risk/limits/?account=alice", {"max_order_qty": 1})
    assert response.status_code == 403
    assert not RiskLimits.objects.filter(account=alice[0]).exists()


def test_staff_sets_and_clears_an_override(staff_client, alice):
    response = staff_client.patch(
        "/api/risk/limits/?account=alice",
        {"max_order_qty": 50, "price_collar_pct": "2.5", "max_daily_loss": 5000},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["limits"]["max_order_qty"] == 50
    assert body["limits"]["price_collar_pct"] == "2.5"
    assert body["limits"]["max_daily_loss"] == "5000"
    row = RiskLimits.objects.get(account=alice[0])
    assert (row.max_order_qty, row.price_collar_pct) == (50, Decimal("2.5"))

    response = staff_client.patch(
        "/api/risk/limits/?account=alice", {"max_order_qty": None}, format="json"
    )
    assert response.json()["overrides"]["max_order_qty"] is None
    assert (
        response.json()["limits"]["max_order_qty"] == response.json()["defaults"]["max_order_qty"]
    )


@pytest.mark.parametrize(
    "body,field",
    [
        ({"max_order_qty": -1}, "max_order_qty"),
        ({"max_order_qty": "1.5"}, "max_order_qty"),
        ({"max_order_notional": "abc"}, "max_order_notional"),
        ({"price_collar_pct": "10000"}, "price_collar_pct"),
        ({"max_volume_pct": "0.0001"}, "max_volume_pct"),
        ({"max_orders_per_second": True}, "max_orders_per_second"),
        ({"max_position": 5}, "max_position"),
        ({}, "non_field_errors"),
    ],
)
def test_invalid_limits_are_a_400_naming_the_field(staff_client, alice, body, field):
    response = staff_client.patch("/api/risk/limits/?account=alice", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not RiskLimits.objects.filter(account=alice[0], max_order_qty=-1).exists()


def test_a_new_limit_applies_to_the_next_order(staff_client, alice, worker):
    from tests.risk.conftest import payload

    staff_client.patch("/api/risk/limits/?account=alice", {"max_order_qty": 5}, format="json")
    order = payload(alice[0], qty=6)
    worker.process_batch([{"type": "orders.submit", "orders": [order]}])
    from trading_app.models import Order

    assert Order.objects.get(id=order["id"]).reject_reason.startswith("MAX_ORDER_QTY")
