"""Alerts on the account's stream: usage past 80% of a limit (warning) and a breach."""

import uuid
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.risk.conftest import drain, payload, set_limits, trade_at
from trading_app.models import EquitySnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(alice):
    """A channel in alice's account group, as the /ws/orders/ consumer has."""
    layer = get_channel_layer()
    # a plain channel name: channels_redis binds "!" process-local channels to one event loop
    channel = f"risk-test.{uuid.uuid4().hex}"
    async_to_sync(layer.group_add)(f"account.{alice[0].id}", channel)
    yield channel
    async_to_sync(layer.group_discard)(f"account.{alice[0].id}", channel)


def alerts(channel) -> list[dict]:
    return [m["alert"] for m in drain(channel) if m["type"] == "risk.alert"]


def test_warning_past_80_percent_then_breach(alice, worker, stream, caplog):
    set_limits(alice[0], max_position_qty=100)
    worker.process_batch([{"type": "orders.submit", "orders": [payload(alice[0], qty=79)]}])
    assert alerts(stream) == []  # 79% of the limit: quiet
    worker.process_batch([{"type": "orders.submit", "orders": [payload(alice[0], qty=6)]}])
    (warning,) = alerts(stream)
    assert warning["code"] == "MAX_POSITION" and warning["level"] == "warning"
    assert (warning["usage_pct"], warning["value"], warning["limit"]) == ("85.0", "85", "100")
    assert "AAPL" in warning["message"] and warning["timestamp"]

    worker.process_batch([{"type": "orders.submit", "orders": [payload(alice[0], qty=20)]}])
    (breach,) = alerts(stream)
    assert breach["code"] == "MAX_POSITION" and breach["level"] == "breach"
    assert (breach["usage_pct"], breach["value"], breach["limit"]) == ("105.0", "105", "100")
    assert set(breach) == {"code", "level", "message", "usage_pct", "limit", "value", "timestamp"}
    logged = [r.getMessage() for r in caplog.records if r.name == "tradingsim.risk"]
    assert any("level=warning" in m for m in logged) and any("level=breach" in m for m in logged)


def test_breaches_are_not_repeated_within_the_throttle(alice, worker, stream):
    set_limits(alice[0], max_order_qty=5)
    for _ in range(3):
        worker.process_batch([{"type": "orders.submit", "orders": [payload(alice[0], qty=6)]}])
    assert [a["code"] for a in alerts(stream)] == ["MAX_ORDER_QTY"]


def test_daily_loss_warning(alice, bob, make_account, worker, stream, settings):
    carol, _ = make_account("carol")
    set_limits(alice[0], max_daily_loss=Decimal("1000"))
    trade_at(worker, bob[0], alice[0], "190.00", qty=100)
    settings.RISK_MARKS_REFRESH_SECONDS = 0
    trade_at(worker, bob[0], carol, "181.50")  # -850: 85% of the limit
    worker.process_batch([])
    codes = [(a["code"], a["level"], a["usage_pct"]) for a in alerts(stream)]
    assert ("DAILY_LOSS", "warning", "85.0") in codes


def test_worker_writes_equity_snapshots_in_bulk(alice, bob, worker, settings):
    trade_at(worker, bob[0], alice[0], "190.00", qty=10)
    settings.RISK_SNAPSHOT_SECONDS = 0
    worker.process_batch([])
    snap = EquitySnapshot.objects.filter(account=alice[0]).latest("timestamp")
    assert snap.market_value == Decimal("1900") and snap.gross_exposure == Decimal("1900")
    assert snap.equity == Decimal("1000000") and snap.cash == Decimal("998100")
