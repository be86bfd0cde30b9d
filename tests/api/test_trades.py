"""/api/trades/ as brief 003 describes it, plus the position and cash bookkeeping behind it."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading_app.models import Account, Position, Trade, TradeSource

pytestmark = pytest.mark.django_db

MSFT_BUY = {"ticker": "MSFT", "price": 350.25, "quantity": 5, "side": "buy"}


def post_trade(client, **overrides):
    response = client.post("/api/trades/", {**MSFT_BUY, **overrides}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def position(account, symbol="MSFT") -> Position:
    return Position.objects.get(account=account, instrument__symbol=symbol)


def cash(account) -> Decimal:
    return Account.objects.get(pk=account.pk).cash


def exchange_fill(account, instruments, **fields) -> Trade:
    defaults = {
        "account": account,
        "instrument": instruments["AAPL"],
        "ticker": "AAPL",
        "side": "buy",
        "price": Decimal("190.10"),
        "quantity": 10,
        "timestamp": datetime(2025, 1, 20, 14, 30, tzinfo=UTC),
        "source": TradeSource.EXCHANGE,
        "execution_id": 42,
    }
    return Trade.objects.create(**{**defaults, **fields})


# --- create / retrieve ------------------------------------------------------------------------


def test_create_with_003s_example_keeps_the_price_exact(alice, alice_client):
    body = post_trade(alice_client)

    assert body["ticker"] == "MSFT"
    assert body["price"] == "350.25"
    assert body["quantity"] == 5
    assert body["side"] == "buy"
    assert body["source"] == "manual"
    assert body["order_id"] is None
    row = Trade.objects.get(pk=body["id"])
    assert row.price == Decimal("350.25")
    assert row.account == alice[0]


def test_create_accepts_a_lowercase_ticker_and_a_string_price(alice_client):
    body = post_trade(alice_client, ticker="msft", price="350.10")
    assert body["ticker"] == "MSFT"
    assert body["price"] == "350.10"


def test_create_with_an_unknown_ticker_names_it_as_orders_do(alice_client):
    response = alice_client.post(
        "/api/trades/",
        {"ticker": "zzzz", "price": "1.00", "quantity": 1, "side": "buy"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"ticker": ["unknown symbol 'ZZZZ'"]}


def test_create_accepts_an_explicit_timestamp(alice_client):
    body = post_trade(alice_client, timestamp="2025-01-15T10:30:00Z")
    assert body["timestamp"].startswith("2025-01-15T10:30:00")


@pytest.mark.parametrize(
    "stamp, message",
    [
        ("0001-01-01T00:00:00Z", "must be on or after 1970-01-01"),
        ("2999-01-01T00:00:00Z", "must not be in the future"),
    ],
)
def test_create_refuses_a_timestamp_no_trade_can_have(alice_client, stamp, message):
    """Year 1 was stored and then exported as `1-01-01T...`, which the analysis rejected."""
    response = alice_client.post(
        "/api/trades/",
        {"ticker": "AAPL", "price": "190.00", "quantity": 1, "side": "buy", "timestamp": stamp},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"timestamp": [message]}


def test_retrieve_returns_the_trade(alice_client):
    created = post_trade(alice_client)
    response = alice_client.get(f"/api/trades/{created['id']}/")
    assert response.status_code == 200
    assert response.json() == created


def test_retrieve_of_an_unknown_id_is_404(alice_client):
    assert alice_client.get("/api/trades/999999/").status_code == 404


# --- list and filters -------------------------------------------------------------------------


@pytest.fixture
def dated_trades(alice_client):
    """Four trades over three days; the last is at 23:59:59 to prove end_date is inclusive."""
    return [
        post_trade(alice_client, ticker="AAPL", side="buy", timestamp="2025-01-14T09:30:00Z"),
        post_trade(alice_client, ticker="MSFT", side="buy", timestamp="2025-01-15T10:00:00Z"),
        post_trade(alice_client, ticker="MSFT", side="sell", timestamp="2025-01-15T15:00:00Z"),
        post_trade(alice_client, ticker="AAPL", side="sell", timestamp="2025-01-16T23:59:59Z"),
    ]


def listed_ids(client, query="") -> set[int]:
    response = client.get(f"/api/trades/{query}")
    assert response.status_code == 200, response.content
    return {t["id"] for t in response.json()["results"]}


def test_list_returns_every_trade_of_the_account(alice_client, dated_trades):
    assert listed_ids(alice_client) == {t["id"] for t in dated_trades}


def test_list_is_newest_first(alice_client, dated_trades):
    results = alice_client.get("/api/trades/").json()["results"]
    assert [t["id"] for t in results] == [t["id"] for t in reversed(dated_trades)]


def test_list_filters_by_ticker_case_insensitively(alice_client, dated_trades):
    aapl = {dated_trades[0]["id"], dated_trades[3]["id"]}
    assert listed_ids(alice_client, "?ticker=AAPL") == aapl
    assert listed_ids(alice_client, "?ticker=aapl") == aapl
    assert listed_ids(alice_client, "?ticker=TSLA") == set()


def test_list_filters_by_side(alice_client, dated_trades):
    assert listed_ids(alice_client, "?side=sell") == {dated_trades[2]["id"], dated_trades[3]["id"]}


def test_list_date_range_is_inclusive_at_both_ends(alice_client, dated_trades):
    ids = listed_ids(alice_client, "?start_date=2025-01-15&end_date=2025-01-16")
    assert ids == {t["id"] for t in dated_trades[1:]}


def test_list_date_range_backwards_is_a_400_naming_end_date(alice_client, dated_trades):
    response = alice_client.get("/api/trades/?start_date=2025-02-01&end_date=2025-01-01")
    assert response.status_code == 400
    assert response.json() == {"end_date": ["must be on or after start_date (2025-02-01)"]}


def test_list_start_date_alone_and_end_date_alone(alice_client, dated_trades):
    assert listed_ids(alice_client, "?start_date=2025-01-16") == {dated_trades[3]["id"]}
    assert listed_ids(alice_client, "?end_date=2025-01-14") == {dated_trades[0]["id"]}


def test_list_combines_ticker_and_dates_as_in_003(alice_client, dated_trades):
    ids = listed_ids(alice_client, "?ticker=AAPL&start_date=2025-01-01&end_date=2025-01-15")
    assert ids == {dated_trades[0]["id"]}


def test_list_filters_by_source(alice, alice_client, instruments, dated_trades):
    fill = exchange_fill(alice[0], instruments)
    assert listed_ids(alice_client, "?source=exchange") == {fill.id}
    assert fill.id not in listed_ids(alice_client, "?source=manual")


# --- positions and cash -----------------------------------------------------------------------


def test_manual_trades_update_position_cash_and_realized_pnl(alice, alice_client):
    account = alice[0]
    start = cash(account)

    post_trade(alice_client)
    post_trade(alice_client, side="sell", price=360, quantity=2)

    pos = position(account)
    assert pos.qty == 3
    assert pos.avg_cost == Decimal("350.25")
    assert pos.realized_pnl == Decimal("19.50")
    assert cash(account) == start - Decimal("1751.25") + Decimal("720")


def test_editing_a_manual_trade_rebuilds_the_position_and_cash(alice, alice_client):
    account = alice[0]
    start = cash(account)
    post_trade(alice_client)
    sell = post_trade(alice_client, side="sell", price=360, quantity=2)

    response = alice_client.patch(f"/api/trades/{sell['id']}/", {"quantity": 1}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["quantity"] == 1
    pos = position(account)
    assert pos.qty == 4
    assert pos.realized_pnl == Decimal("9.75")
    assert cash(account) == start - Decimal("1751.25") + Decimal("360")


def test_put_replaces_every_field_and_can_move_the_trade_to_another_ticker(alice, alice_client):
    account = alice[0]
    start = cash(account)
    trade = post_trade(alice_client)

    response = alice_client.put(
        f"/api/trades/{trade['id']}/",
        {"ticker": "AAPL", "price": "190.00", "quantity": 2, "side": "buy"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["ticker"] == "AAPL"
    assert Trade.objects.get(pk=trade["id"]).ticker == "AAPL"
    assert position(account, "MSFT").qty == 0
    assert position(account, "AAPL").qty == 2
    assert position(account, "AAPL").avg_cost == Decimal("190")
    assert cash(account) == start - Decimal("380")


def test_put_without_every_field_is_400(alice_client):
    trade = post_trade(alice_client)
    response = alice_client.put(f"/api/trades/{trade['id']}/", {"quantity": 1}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"ticker", "price", "side"}
    assert Trade.objects.get(pk=trade["id"]).quantity == 5


def test_deleting_a_manual_trade_rebuilds_the_position_and_returns_the_cash(alice, alice_client):
    account = alice[0]
    start = cash(account)
    buy = post_trade(alice_client)
    post_trade(alice_client, side="sell", price=360, quantity=2)

    response = alice_client.delete(f"/api/trades/{buy['id']}/")

    assert response.status_code == 204
    assert not Trade.objects.filter(pk=buy["id"]).exists()
    pos = position(account)
    assert pos.qty == -2
    assert pos.avg_cost == Decimal("360")
    assert pos.realized_pnl == 0
    assert cash(account) == start + Decimal("720")


def test_a_backdated_trade_is_replayed_in_time_order(alice, alice_client):
    """The position is replayed by timestamp, so entering an older trade later changes P&L."""
    post_trade(alice_client, side="sell", price=360, quantity=2, timestamp="2025-01-16T10:00:00Z")
    post_trade(alice_client, timestamp="2025-01-15T10:00:00Z")
    pos = position(alice[0])
    assert pos.qty == 3
    assert pos.realized_pnl == Decimal("19.50")


# --- exchange fills are read-only -------------------------------------------------------------


@pytest.mark.parametrize(
    "method,body",
    [
        ("put", {"ticker": "AAPL", "price": "1.00", "quantity": 1, "side": "sell"}),
        ("patch", {"quantity": 1}),
        ("patch", {}),
        ("delete", None),
    ],
)
def test_exchange_fills_cannot_be_changed_or_deleted(
    alice, alice_client, instruments, method, body
):
    fill = exchange_fill(alice[0], instruments)
    start = cash(alice[0])

    response = getattr(alice_client, method)(f"/api/trades/{fill.id}/", body, format="json")

    assert response.status_code == 403
    assert "exchange fills are read-only" in response.json()["detail"]
    fill_after = Trade.objects.get(pk=fill.id)
    assert (fill_after.quantity, fill_after.price, fill_after.side) == (
        10,
        Decimal("190.10"),
        "buy",
    )
    assert cash(alice[0]) == start


def test_exchange_fills_are_listed_and_retrievable(alice, alice_client, instruments):
    fill = exchange_fill(alice[0], instruments)
    body = alice_client.get(f"/api/trades/{fill.id}/").json()
    assert body["source"] == "exchange"
    assert body["execution_id"] == 42
    assert body["price"] == "190.10"
    assert fill.id in listed_ids(alice_client)


def test_the_source_of_a_trade_cannot_be_set_by_the_client(alice_client):
    body = post_trade(alice_client, source="exchange", execution_id=7)
    assert body["source"] == "manual"
    assert body["execution_id"] is None


# --- isolation --------------------------------------------------------------------------------


def test_another_account_gets_404_for_every_verb_and_changes_nothing(
    alice, alice_client, bob_client
):
    trade = post_trade(alice_client)
    url = f"/api/trades/{trade['id']}/"

    assert bob_client.get(url).status_code == 404
    assert bob_client.patch(url, {"quantity": 1}, format="json").status_code == 404
    put = bob_client.put(url, {**MSFT_BUY, "quantity": 1}, format="json")
    assert put.status_code == 404
    assert bob_client.delete(url).status_code == 404

    assert Trade.objects.get(pk=trade["id"]).quantity == 5
    assert position(alice[0]).qty == 5


def test_lists_never_show_another_accounts_trades(alice_client, bob_client):
    alice_trade = post_trade(alice_client)
    bob_trade = post_trade(bob_client, ticker="AAPL")
    assert listed_ids(bob_client) == {bob_trade["id"]}
    assert listed_ids(bob_client, "?ticker=MSFT") == set()
    assert listed_ids(alice_client) == {alice_trade["id"]}
