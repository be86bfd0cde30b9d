"""Every pre-trade check accepts an order AT its limit and rejects one just past it, with the
check's code, through the REST API and through the worker's channel path (the WebSocket one)."""

from decimal import Decimal

import pytest

from tests.risk.conftest import set_limits, trade_at
from trading_app.models import Account, Instrument

pytestmark = pytest.mark.django_db


def accepted(order) -> bool:
    return order.status in ("new", "partially_filled", "filled")


def assert_rejected(order, code: str) -> None:
    assert order.status == "rejected", (order.status, order.reject_reason)
    assert order.reject_reason.startswith(f"{code}: "), order.reject_reason


def test_max_order_qty(path, alice):
    set_limits(alice[0], max_order_qty=50)
    assert accepted(path.one(alice, qty=50))
    order = path.one(alice, qty=51)
    assert_rejected(order, "MAX_ORDER_QTY")
    assert order.reject_reason == "MAX_ORDER_QTY: quantity 51 exceeds the limit of 50"


def test_max_order_notional(path, alice):
    set_limits(alice[0], max_order_notional=Decimal("1900"))
    assert accepted(path.one(alice, qty=10, limit_price="190.00"))
    order = path.one(alice, qty=10, limit_price="190.01")
    assert_rejected(order, "MAX_ORDER_NOTIONAL")
    assert "1900.10" in order.reject_reason and "1900.00" in order.reject_reason


def test_market_order_notional_uses_the_reference_price(path, alice):
    set_limits(alice[0], max_order_notional=Decimal("1900"))
    market = {"type": "market", "time_in_force": "day", "limit_price": None}
    order = path.one(alice, qty=11, **market)
    assert_rejected(order, "MAX_ORDER_NOTIONAL")  # 11 x 190.00 reference


@pytest.mark.parametrize("at,past", [("199.50", "199.51"), ("180.50", "180.49")])
def test_price_collar_around_the_reference_price(path, alice, at, past):
    set_limits(alice[0], price_collar_pct=Decimal("5"))
    assert accepted(path.one(alice, limit_price=at))  # AAPL reference 190.00: 5% = 9.50
    order = path.one(alice, limit_price=past)
    assert_rejected(order, "PRICE_COLLAR")
    assert "reference price 190.00" in order.reject_reason


def test_price_collar_follows_the_last_trade(path, alice, bob, make_account, worker):
    carol, _ = make_account("carol")
    trade_at(worker, bob[0], carol, "200.00")  # last trade now 200.00
    set_limits(alice[0], price_collar_pct=Decimal("5"))
    assert accepted(path.one(alice, side="sell", limit_price="210.00"))
    assert_rejected(path.one(alice, side="sell", limit_price="210.01"), "PRICE_COLLAR")


def test_max_position_counts_open_orders(path, alice):
    set_limits(alice[0], max_position_qty=100)
    assert accepted(path.one(alice, qty=100))
    order = path.one(alice, qty=1)
    assert_rejected(order, "MAX_POSITION")
    assert "open buy orders 100" in order.reject_reason


def test_max_position_short_side(path, alice):
    set_limits(alice[0], max_position_qty=100)
    assert accepted(path.one(alice, side="sell", qty=100))
    assert_rejected(path.one(alice, side="sell", qty=1), "MAX_POSITION")


def test_instrument_max_position_applies_when_tighter(path, alice):
    Instrument.objects.filter(symbol="AAPL").update(max_position=30)
    path.worker.risk._reload_instruments()
    assert accepted(path.one(alice, qty=30))
    assert_rejected(path.one(alice, qty=1), "MAX_POSITION")


def test_max_position_counts_filled_positions(path, alice, bob, worker):
    set_limits(alice[0], max_position_qty=100)
    trade_at(worker, bob[0], alice[0], "190.00", qty=60)  # alice now long 60
    assert accepted(path.one(alice, qty=40))
    assert_rejected(path.one(alice, qty=1), "MAX_POSITION")


def test_max_gross_exposure_counts_positions_and_open_orders(path, alice):
    set_limits(alice[0], max_gross_exposure=Decimal("19000"))
    assert accepted(path.one(alice, qty=100, limit_price="190.00"))  # 100 x 190 = 19000
    order = path.one(alice, symbol="MSFT", qty=1, limit_price="420.00")
    assert_rejected(order, "MAX_GROSS_EXPOSURE")


def test_an_order_that_reduces_gross_exposure_passes(path, alice, bob, worker):
    set_limits(alice[0], max_gross_exposure=Decimal("19000"))
    trade_at(worker, bob[0], alice[0], "190.00", qty=100)  # long 100 = 19000 gross
    assert_rejected(path.one(alice, qty=1), "MAX_GROSS_EXPOSURE")
    assert accepted(path.one(alice, side="sell", qty=50))  # closing half: passes


def test_buying_power_counts_open_buy_orders(path, make_account, instruments):
    poor = make_account("poor", cash="19000")
    assert accepted(path.one(poor, qty=100, limit_price="190.00"))
    order = path.one(poor, qty=1, limit_price="190.00")
    assert_rejected(order, "BUYING_POWER")
    assert "buying power is 0.00" in order.reject_reason


def test_short_sale_within_the_margin_requirement(path, make_account, instruments):
    # AAPL margin_requirement 0.25 at 190.00: 100 shares short need 4750.00
    poor = make_account("poor", cash="4750")
    assert accepted(path.one(poor, side="sell", qty=100, limit_price="190.00"))
    order = path.one(poor, side="sell", qty=1, limit_price="190.00")
    assert_rejected(order, "SHORT_MARGIN")


def test_selling_a_long_position_needs_no_margin(path, make_account, bob, worker):
    poor = make_account("poor", cash="1900")
    trade_at(worker, bob[0], poor[0], "190.00", qty=10)  # all the cash is now in AAPL
    assert accepted(path.one(poor, side="sell", qty=10, limit_price="191.00"))


def test_rate_limit(path, alice):
    set_limits(alice[0], max_orders_per_second=3)
    orders = path.many(alice, [{"qty": 1}] * 4)  # four at one instant
    assert sum(accepted(o) for o in orders) == 3
    (refused,) = [o for o in orders if not accepted(o)]
    assert_rejected(refused, "RATE_LIMIT")
    assert refused.reject_reason == "RATE_LIMIT: more than 3 orders per second"


def test_liquidity_fraction_of_todays_volume(path, alice, worker):
    set_limits(alice[0], max_volume_pct=Decimal("10"))
    worker.volume["AAPL"] = 10_000  # at least RISK_LIQUIDITY_MIN_VOLUME traded today
    assert accepted(path.one(alice, qty=1000))
    order = path.one(alice, qty=1001)
    assert_rejected(order, "LIQUIDITY")
    assert "today's volume 10000" in order.reject_reason


def test_daily_loss_limit_halts_the_account(path, alice, bob, make_account, worker, settings):
    settings.RISK_MARKS_REFRESH_SECONDS = 3600  # only the order itself finds the loss here
    carol, _ = make_account("carol")
    dave, _ = make_account("dave")
    set_limits(alice[0], max_daily_loss=Decimal("1000"))
    trade_at(worker, bob[0], alice[0], "190.00", qty=100)  # alice long 100 at 190
    trade_at(worker, carol, dave, "180.00")  # marked at 180: day P&L -1000.00, at the limit
    resting = path.one(alice, qty=1, limit_price="175.00")
    assert accepted(resting)
    trade_at(worker, carol, dave, "179.99")  # -1001.00: past it
    order = path.one(alice, qty=1, limit_price="175.00")
    assert_rejected(order, "DAILY_LOSS")
    assert "-1001.00" in order.reject_reason
    account = Account.objects.get(pk=alice[0].pk)
    assert account.halted and account.halted_reason.startswith("DAILY_LOSS")
    worker.process_batch([])  # the gate's own halt message cancels the resting order
    resting.refresh_from_db()
    assert resting.status == "canceled"
    assert_rejected(path.one(alice, qty=1, limit_price="175.00"), "ACCOUNT_HALTED")


def test_daily_loss_found_by_the_mark_refresh_halts_without_an_order(
    alice, bob, make_account, worker, settings, path
):
    carol, _ = make_account("carol")
    dave, _ = make_account("dave")
    set_limits(alice[0], max_daily_loss=Decimal("1000"))
    trade_at(worker, bob[0], alice[0], "190.00", qty=100)
    resting = path.one(alice, qty=1, limit_price="175.00")
    settings.RISK_MARKS_REFRESH_SECONDS = 0
    trade_at(worker, carol, dave, "180.00")
    worker.process_batch([])
    assert not Account.objects.get(pk=alice[0].pk).halted  # -1000.00: at the limit
    trade_at(worker, carol, dave, "179.99")
    worker.process_batch([])  # the refresh halts alice; the next batch cancels her orders
    worker.process_batch([])
    account = Account.objects.get(pk=alice[0].pk)
    assert account.halted and account.halted_reason.startswith("DAILY_LOSS: ")
    resting.refresh_from_db()
    assert resting.status == "canceled"
    order = path.one(alice, qty=1, limit_price="175.00")
    assert_rejected(order, "ACCOUNT_HALTED")
    assert order.reject_reason.startswith("ACCOUNT_HALTED: DAILY_LOSS: ")
