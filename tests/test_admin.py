"""The Django admin as a trade inspection tool: staff only, filters, search, CSV, fills read-only."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from trading_app.models import Order, Position, Trade, TradeSource

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/trading_app/trade/"


@pytest.fixture
def staff_client(db):
    user = get_user_model().objects.create_superuser("inspector", password="pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trades(alice, bob, instruments):
    """A manual MSFT buy of alice's, and one AAPL execution: alice's buy and bob's sell fill."""
    order = Order.objects.create(
        account=alice[0],
        instrument=instruments["AAPL"],
        client_order_id="alice-aapl-1",
        side="buy",
        type="limit",
        time_in_force="day",
        qty=10,
        limit_price=Decimal("190.10"),
        status="filled",
        filled_qty=10,
    )
    at = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)
    common = {"instrument": instruments["AAPL"], "ticker": "AAPL", "price": Decimal("190.10")}
    fill_buy = Trade.objects.create(
        account=alice[0],
        side="buy",
        quantity=10,
        timestamp=at,
        order=order,
        source=TradeSource.EXCHANGE,
        execution_id=1,
        liquidity="taker",
        **common,
    )
    fill_sell = Trade.objects.create(
        account=bob[0],
        side="sell",
        quantity=10,
        timestamp=at,
        source=TradeSource.EXCHANGE,
        execution_id=1,
        liquidity="maker",
        **common,
    )
    manual = Trade.objects.create(
        account=alice[0],
        instrument=instruments["MSFT"],
        ticker="MSFT",
        side="buy",
        price=Decimal("350.25"),
        quantity=5,
        timestamp=datetime(2025, 1, 21, 10, 0, tzinfo=UTC),
        source=TradeSource.MANUAL,
    )
    return {"order": order, "fill_buy": fill_buy, "fill_sell": fill_sell, "manual": manual}


def listed(client, query="") -> set[int]:
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_staff_sees_every_trade_in_the_changelist(staff_client, trades):
    assert listed(staff_client) == {t.pk for t in trades.values() if isinstance(t, Trade)}


def test_changelist_filters_by_ticker_side_source_and_date(staff_client, trades):
    assert listed(staff_client, "?ticker=MSFT") == {trades["manual"].pk}
    assert listed(staff_client, "?side__exact=sell") == {trades["fill_sell"].pk}
    assert listed(staff_client, "?source__exact=exchange") == {
        trades["fill_buy"].pk,
        trades["fill_sell"].pk,
    }
    assert listed(staff_client, "?timestamp__day=21&timestamp__month=1&timestamp__year=2025") == {
        trades["manual"].pk
    }


def test_changelist_offers_the_filters_the_issue_names(staff_client, trades):
    response = staff_client.get(CHANGELIST)
    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"ticker", "side", "source", "timestamp"} <= titles


def test_search_by_ticker(staff_client, trades):
    assert listed(staff_client, "?q=msft") == {trades["manual"].pk}


def test_search_by_order_id_and_client_order_id(staff_client, trades):
    order = trades["order"]
    assert listed(staff_client, f"?q={order.id}") == {trades["fill_buy"].pk}
    assert listed(staff_client, "?q=alice-aapl-1") == {trades["fill_buy"].pk}


def test_an_exchange_fill_change_page_is_entirely_read_only(staff_client, trades):
    fill = trades["fill_buy"]
    url = f"{CHANGELIST}{fill.pk}/change/"
    response = staff_client.get(url)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.fields) == []
    readonly = set(response.context["adminform"].readonly_fields)
    assert {"price", "quantity", "side", "ticker", "timestamp", "source", "account"} <= readonly
    assert not response.context["has_delete_permission"]

    staff_client.post(url, {"price": "1.00", "quantity": "1", "side": "sell"})
    fill.refresh_from_db()
    assert (fill.price, fill.quantity, fill.side) == (Decimal("190.10"), 10, "buy")


def test_an_exchange_fill_cannot_be_deleted_from_its_page(staff_client, trades):
    fill = trades["fill_buy"]
    response = staff_client.post(f"{CHANGELIST}{fill.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Trade.objects.filter(pk=fill.pk).exists()


def test_the_bulk_delete_action_does_not_delete_exchange_fills(staff_client, trades):
    selected = [trades["fill_buy"].pk, trades["fill_sell"].pk, trades["manual"].pk]
    staff_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )
    assert Trade.objects.filter(pk=trades["fill_buy"].pk).exists()
    assert Trade.objects.filter(pk=trades["fill_sell"].pk).exists()


def test_a_manual_trade_is_editable_in_the_admin(staff_client, trades):
    response = staff_client.get(f"{CHANGELIST}{trades['manual'].pk}/change/")
    assert {"price", "quantity", "side"} <= set(response.context["adminform"].form.fields)


def test_deleting_a_manual_trade_in_the_admin_rebuilds_the_position(
    staff_client, trades, alice, alice_client
):
    created = alice_client.post(
        "/api/trades/",
        {"ticker": "TSLA", "price": "250.00", "quantity": 4, "side": "buy"},
        format="json",
    ).json()
    account = alice[0]
    cash_before = type(account).objects.get(pk=account.pk).cash

    response = staff_client.post(f"{CHANGELIST}{created['id']}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Trade.objects.filter(pk=created["id"]).exists()
    assert Position.objects.get(account=account, instrument__symbol="TSLA").qty == 0
    assert type(account).objects.get(pk=account.pk).cash == cash_before + Decimal("1000.00")


def test_bulk_deleting_manual_trades_rebuilds_positions(staff_client, alice, alice_client):
    ids = [
        alice_client.post(
            "/api/trades/",
            {"ticker": "TSLA", "price": "250.00", "quantity": q, "side": "buy"},
            format="json",
        ).json()["id"]
        for q in (1, 2)
    ]
    staff_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert not Trade.objects.filter(pk__in=ids).exists()
    assert Position.objects.get(account=alice[0], instrument__symbol="TSLA").qty == 0


def test_editing_a_manual_trade_in_the_admin_rebuilds_the_position(
    staff_client, trades, alice, instruments
):
    manual = trades["manual"]
    url = f"{CHANGELIST}{manual.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data.update(
        {
            "instrument": instruments["MSFT"].pk,
            "quantity": "8",
            "timestamp_0": "2025-01-21",
            "timestamp_1": "10:00:00",
        }
    )
    data.pop("timestamp", None)

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    manual.refresh_from_db()
    assert manual.quantity == 8
    assert Position.objects.get(account=alice[0], instrument__symbol="MSFT").qty == 8


def test_adding_a_manual_trade_in_the_admin_books_it_like_the_api(staff_client, alice, instruments):
    account = alice[0]
    cash_before = type(account).objects.get(pk=account.pk).cash
    response = staff_client.post(
        f"{CHANGELIST}add/",
        {
            "account": account.pk,
            "instrument": instruments["GOOG"].pk,
            "side": "buy",
            "price": "170.00",
            "quantity": "3",
            "timestamp_0": "2025-01-22",
            "timestamp_1": "09:30:00",
        },
    )
    assert response.status_code == 302
    trade = Trade.objects.get(account=account, ticker="GOOG")
    assert trade.source == TradeSource.MANUAL
    assert Position.objects.get(account=account, instrument__symbol="GOOG").qty == 3
    assert type(account).objects.get(pk=account.pk).cash == cash_before - Decimal("510.00")


def test_export_selected_trades_to_csv(staff_client, trades):
    selected = [trades["fill_buy"].pk, trades["manual"].pk]
    response = staff_client.post(
        CHANGELIST, {"action": "export_trades_csv", "_selected_action": selected}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    header = response.content.decode().splitlines()[0].split(",")
    assert header[:9] == [
        "id",
        "timestamp",
        "ticker",
        "side",
        "price",
        "quantity",
        "account",
        "order_id",
        "source",
    ]
    assert [int(r["id"]) for r in rows] == selected
    fill_row, manual_row = rows
    assert fill_row["ticker"] == "AAPL"
    assert Decimal(fill_row["price"]) == Decimal("190.10")
    assert fill_row["quantity"] == "10"
    assert fill_row["account"] == "alice"
    assert fill_row["order_id"] == str(trades["order"].id)
    assert fill_row["source"] == "exchange"
    assert manual_row["ticker"] == "MSFT"
    assert manual_row["order_id"] == ""
    assert datetime.fromisoformat(fill_row["timestamp"]) == trades["fill_buy"].timestamp


def test_the_action_is_offered_by_its_name(staff_client, trades):
    response = staff_client.get(CHANGELIST)
    assert "Export selected trades to CSV" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        CHANGELIST,
        "/admin/trading_app/order/",
        "/admin/trading_app/position/",
        "/admin/trading_app/account/",
        "/admin/trading_app/instrument/",
    ],
)
def test_a_non_staff_user_is_sent_to_the_login_page(alice, path):
    client = Client()
    client.force_login(alice[0].user)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "model", ["order", "position", "account", "instrument", "trade", "tradeanalysis"]
)
def test_staff_can_open_every_trading_changelist(staff_client, trades, model):
    assert staff_client.get(f"/admin/trading_app/{model}/").status_code == 200


def test_an_order_page_shows_its_fills_inline_and_cannot_be_added(staff_client, trades):
    order = trades["order"]
    response = staff_client.get(f"/admin/trading_app/order/{order.pk}/change/")
    assert response.status_code == 200
    assert "190.10" in response.content.decode()
    assert staff_client.get("/admin/trading_app/order/add/").status_code == 403


def account_form(account, **changes) -> dict:
    data = {
        "user": account.user_id,
        "halted_reason": account.halted_reason,
        "cash_adjustment": "",
        **changes,
    }
    if account.halted:
        data.setdefault("halted", "on")
    return data


def test_saving_an_account_page_never_writes_back_a_stale_cash(staff_client, alice):
    """The page is opened, a fill moves the cash, the page is saved: the fill's cash stays."""
    from trading_app.models import Account

    account = alice[0]
    url = f"/admin/trading_app/account/{account.pk}/change/"
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'name="cash"' not in page.content.decode()  # read-only: shown, not a form field
    Account.objects.filter(pk=account.pk).update(cash=Decimal("12345.67"))  # a fill, meanwhile
    response = staff_client.post(url, account_form(account, halted_reason="checked by ops"))
    assert response.status_code == 302, response.content
    account.refresh_from_db()
    assert (account.cash, account.halted_reason) == (Decimal("12345.67"), "checked by ops")


def test_a_cash_adjustment_is_added_to_the_cash_at_save_time(staff_client, alice):
    from trading_app.models import Account, RiskChange

    account = alice[0]
    url = f"/admin/trading_app/account/{account.pk}/change/"
    Account.objects.filter(pk=account.pk).update(cash=Decimal("1000.00"))
    before = RiskChange.objects.filter(account_id=account.pk).count()
    response = staff_client.post(url, account_form(account, cash_adjustment="-250.50"))
    assert response.status_code == 302, response.content
    account.refresh_from_db()
    assert account.cash == Decimal("749.50")
    assert RiskChange.objects.filter(account_id=account.pk).count() == before + 1  # gate told
