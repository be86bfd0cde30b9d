"""GET /api/portfolio/: P&L against hand-computed cases, marked to the latest price."""

from decimal import Decimal

import pytest

from tests.risk.conftest import trade_at
from trading_app.models import EquitySnapshot, Instrument
from trading_app.services.trades import create_manual_trade

pytestmark = pytest.mark.django_db


def test_average_cost_realized_and_unrealized_pnl(alice, alice_client, instruments):
    aapl = instruments["AAPL"]
    account = alice[0]
    create_manual_trade(account, aapl, "buy", Decimal("190"), 10)
    create_manual_trade(account, aapl, "buy", Decimal("200"), 10)  # 20 at an average of 195
    create_manual_trade(account, aapl, "sell", Decimal("210"), 5)  # realizes 5 x 15 = 75
    Instrument.objects.filter(pk=aapl.pk).update(last_price=Decimal("210"))
    body = alice_client.get("/api/portfolio/").json()

    (line,) = body["positions"]
    assert line["symbol"] == "AAPL" and line["qty"] == 15 and line["side"] == "long"
    assert line["avg_cost"] == "195.00"
    assert line["current_price"] == "210.00"
    assert line["market_value"] == "3150.00"  # 15 x 210
    assert line["cost_basis"] == "2925.00"  # 15 x 195
    assert line["unrealized_pnl"] == "225.00"  # 15 x (210 - 195)
    assert line["realized_pnl"] == "75.00"
    assert line["total_pnl"] == "300.00"
    assert body["pnl_by_instrument"]["AAPL"] == {
        "realized": "75.00",
        "unrealized": "225.00",
        "total": "300.00",
    }
    cash = Decimal("1000000") - 1900 - 2000 + 1050
    assert body["cash"] == f"{cash:.2f}"
    assert body["equity"] == f"{cash + 3150:.2f}"
    assert body["gross_exposure"] == "3150.00" and body["net_exposure"] == "3150.00"


def test_short_positions_and_exposure(alice, alice_client, instruments):
    account = alice[0]
    create_manual_trade(account, instruments["AAPL"], "buy", Decimal("190"), 10)
    create_manual_trade(account, instruments["MSFT"], "sell", Decimal("420"), 5)
    Instrument.objects.filter(symbol="MSFT").update(last_price=Decimal("400"))
    body = alice_client.get("/api/portfolio/").json()
    by_symbol = {p["symbol"]: p for p in body["positions"]}
    assert by_symbol["MSFT"]["side"] == "short"
    assert by_symbol["MSFT"]["unrealized_pnl"] == "100.00"  # -5 x (400 - 420)
    assert by_symbol["AAPL"]["unrealized_pnl"] == "0.00"  # marked at the 190.00 reference
    assert body["long_market_value"] == "1900.00"
    assert body["short_market_value"] == "-2000.00"
    assert body["gross_exposure"] == "3900.00"
    assert body["net_exposure"] == "-100.00"


def test_pnl_moves_with_exchange_trades(alice, bob, make_account, alice_client, worker):
    carol, _ = make_account("carol")
    trade_at(worker, bob[0], alice[0], "190.00", qty=100)
    assert alice_client.get("/api/portfolio/").json()["unrealized_pnl"] == "0.00"
    trade_at(worker, bob[0], carol, "191.50")
    body = alice_client.get("/api/portfolio/").json()
    assert body["unrealized_pnl"] == "150.00"
    assert body["positions"][0]["current_price"] == "191.50"
    # the worker recorded alice's start-of-day equity when it first saw her
    assert body["day_pnl"] == "150.00"


def test_equity_history_endpoint(alice, alice_client):
    from django.utils import timezone

    EquitySnapshot.objects.create(
        account=alice[0],
        timestamp=timezone.now(),
        cash=Decimal("10"),
        market_value=Decimal("5"),
        gross_exposure=Decimal("5"),
        equity=Decimal("15"),
    )
    body = alice_client.get("/api/portfolio/equity/").json()
    assert body["points"][-1]["equity"] == "15.00"


def test_staff_reads_another_portfolio_owners_cannot(alice_client, bob, make_account, make_client):
    assert alice_client.get("/api/portfolio/?account=bob").status_code == 403
    _, token = make_account("risk-officer", staff=True)
    staff = make_client(token)
    assert staff.get("/api/portfolio/?account=bob").json()["account"] == "bob"
