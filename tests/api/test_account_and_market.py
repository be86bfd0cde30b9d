"""Instruments, the account, positions (Alpaca's shape) and 000's market data call."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from trading_app.models import Account
from trading_app.services.market_data import publish_quote

pytestmark = pytest.mark.django_db

DEMO_SYMBOLS = ["AAPL", "AMZN", "GOOG", "MSFT", "SPY", "TSLA"]


def trade(client, **fields):
    body = {"ticker": "MSFT", "price": "350.25", "quantity": 5, "side": "buy", **fields}
    response = client.post("/api/trades/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- instruments -----------------------------------------------------------------------------


def test_instruments_lists_the_demo_universe(alice_client):
    response = alice_client.get("/api/instruments/")
    assert response.status_code == 200
    assert [i["symbol"] for i in response.json()] == DEMO_SYMBOLS


def test_instrument_detail_carries_the_trading_rules(alice_client):
    response = alice_client.get("/api/instruments/AAPL/")
    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "AAPL"
    assert body["tick_size"] == "0.01"  # as prices are written, not "0.010000"
    assert body["lot_size"] == 1
    assert body["active"] is True
    assert body["reference_price"] == "190.00"
    assert body["max_position"] == 10_000
    assert Decimal(body["margin_requirement"]) == Decimal("0.25")


def test_instrument_detail_is_case_insensitive(alice_client):
    assert alice_client.get("/api/instruments/aapl/").json()["symbol"] == "AAPL"


def test_an_unknown_instrument_is_404_json(alice_client):
    response = alice_client.get("/api/instruments/ZZZZ/")
    assert response.status_code == 404
    assert "ZZZZ" in response.json()["detail"]


def test_instruments_are_read_only(alice_client):
    response = alice_client.post("/api/instruments/", {"symbol": "NEW"}, format="json")
    assert response.status_code == 405
    assert alice_client.delete("/api/instruments/AAPL/").status_code == 405


# --- account ---------------------------------------------------------------------------------


def test_a_fresh_account_has_its_cash_as_equity(alice_client):
    body = alice_client.get("/api/account/").json()
    assert body["username"] == "alice"
    assert Decimal(body["cash"]) == Decimal("1000000")
    assert Decimal(body["equity"]) == Decimal("1000000")
    assert Decimal(body["positions_value"]) == 0
    assert body["halted"] is False


def test_account_values_positions_at_the_mark_price(alice_client):
    trade(alice_client)  # 5 MSFT @ 350.25, marked at the 420.00 reference price
    body = alice_client.get("/api/account/").json()
    assert Decimal(body["cash"]) == Decimal("998248.75")
    assert Decimal(body["positions_value"]) == Decimal("2100.00")
    assert Decimal(body["equity"]) == Decimal("1000348.75")
    assert Decimal(body["unrealized_pl"]) == Decimal("348.75")


def test_a_short_position_counts_against_equity(alice_client):
    trade(alice_client, side="sell", quantity=2, price="400.00")
    body = alice_client.get("/api/account/").json()
    assert Decimal(body["short_market_value"]) == Decimal("-840.00")
    assert Decimal(body["equity"]) == Decimal("1000000") + 800 - 840


def test_account_shows_the_halted_flag(alice, alice_client):
    Account.objects.filter(pk=alice[0].pk).update(halted=True, halted_reason="daily loss")
    body = alice_client.get("/api/account/").json()
    assert body["halted"] is True
    assert body["halted_reason"] == "daily loss"


def test_each_account_sees_only_itself(alice_client, bob_client):
    trade(alice_client)
    body = bob_client.get("/api/account/").json()
    assert body["username"] == "bob"
    assert Decimal(body["positions_value"]) == 0


# --- positions -------------------------------------------------------------------------------

ALPACA_POSITION_FIELDS = {
    "symbol",
    "qty",
    "side",
    "avg_entry_price",
    "current_price",
    "market_value",
    "cost_basis",
    "unrealized_pl",
    "unrealized_plpc",
}


def test_positions_in_alpacas_shape(alice_client):
    trade(alice_client)
    trade(alice_client, side="sell", price="360.00", quantity=2)

    response = alice_client.get("/api/positions/")

    assert response.status_code == 200
    [msft] = response.json()
    assert set(msft) >= ALPACA_POSITION_FIELDS
    assert msft["symbol"] == "MSFT"
    assert msft["qty"] == 3
    assert msft["side"] == "long"
    assert msft["avg_entry_price"] == "350.25"
    assert msft["current_price"] == "420.00"
    assert Decimal(msft["market_value"]) == Decimal("1260.00")
    assert Decimal(msft["cost_basis"]) == Decimal("1050.75")
    assert Decimal(msft["unrealized_pl"]) == Decimal("209.25")
    assert Decimal(msft["unrealized_plpc"]) == (Decimal("209.25") / Decimal("1050.75")).quantize(
        Decimal("0.000001")
    )
    assert Decimal(msft["realized_pl"]) == Decimal("19.50")


def test_position_detail_and_short_side(alice_client):
    trade(alice_client, ticker="TSLA", side="sell", price="260.00", quantity=4)
    response = alice_client.get("/api/positions/tsla/")
    assert response.status_code == 200
    body = response.json()
    assert (body["symbol"], body["qty"], body["side"]) == ("TSLA", -4, "short")
    assert Decimal(body["market_value"]) == Decimal("-1000.00")
    assert Decimal(body["unrealized_pl"]) == Decimal("40.00")


def test_no_position_is_404(alice_client):
    response = alice_client.get("/api/positions/MSFT/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_positions_are_private(alice_client, bob_client):
    trade(alice_client)
    assert bob_client.get("/api/positions/").json() == []
    assert bob_client.get("/api/positions/MSFT/").status_code == 404


def test_a_position_closed_at_a_profit_stays_listed_for_its_realized_pnl(alice_client):
    trade(alice_client)
    trade(alice_client, side="sell", price="351.25", quantity=5)
    [msft] = alice_client.get("/api/positions/").json()
    assert msft["qty"] == 0
    assert msft["side"] == "flat"
    assert Decimal(msft["realized_pl"]) == Decimal("5.00")


# --- market data (000) -----------------------------------------------------------------------


@pytest.fixture
def clean_quotes():
    cache.clear()
    yield
    cache.clear()


def test_market_data_answers_each_symbol_and_flags_unknown_ones(alice_client, clean_quotes):
    response = alice_client.post(
        "/api/market-data/", {"symbols": ["AAPL", "TSLA", "NOPE"]}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"AAPL", "TSLA", "NOPE"}
    assert data["AAPL"]["price"] is not None
    assert Decimal(data["AAPL"]["price"]) > 0
    assert data["AAPL"]["symbol"] == "AAPL"
    assert "error" not in data["AAPL"]
    assert "NOPE" in data["NOPE"]["error"]


def test_market_data_returns_a_published_quote(alice_client, clean_quotes):
    quote = {"symbol": "AAPL", "price": "191.23", "bid": "191.22", "ask": "191.24"}
    publish_quote("AAPL", quote)
    data = alice_client.post("/api/market-data/", {"symbols": ["aapl"]}, format="json").json()
    assert data["data"]["AAPL"]["price"] == "191.23"
    assert data["data"]["AAPL"]["bid"] == "191.22"
