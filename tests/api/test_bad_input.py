"""Bad input: each is a 400 that names the field, never a 500, and never leaves a row behind."""

import json
import time

import pytest

from trading_app.models import Instrument, Order, Position, Trade
from trading_app.selectors.instruments import invalidate_instrument_cache

pytestmark = pytest.mark.django_db

VALID_ORDER = {
    "symbol": "AAPL",
    "side": "buy",
    "type": "limit",
    "qty": 10,
    "limit_price": "189.50",
    "time_in_force": "day",
}
VALID_TRADE = {"ticker": "MSFT", "price": "350.25", "quantity": 5, "side": "buy"}
MISSING = object()


def with_changes(base: dict, changes: dict) -> dict:
    body = dict(base)
    for key, value in changes.items():
        if value is MISSING:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def with_json_constant(base: dict, field: str, constant: str) -> str:
    """`base` as JSON text with the bare token `constant` (NaN, Infinity) as the value of `field`."""
    return json.dumps({**base, field: "__X__"}).replace('"__X__"', constant)


def assert_400_naming(response, field: str):
    assert response.status_code == 400, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    assert field in response.json(), response.json()


@pytest.fixture
def no_rows_written():
    yield
    assert Order.objects.count() == 0
    assert Trade.objects.count() == 0
    assert Position.objects.count() == 0


ORDER_CASES = [
    # wrong types
    ({"symbol": 123}, "symbol"),
    ({"symbol": ["AAPL"]}, "symbol"),
    ({"side": 1}, "side"),
    ({"side": True}, "side"),
    ({"type": {"limit": True}}, "type"),
    ({"time_in_force": 5}, "time_in_force"),
    ({"qty": "ten"}, "qty"),
    ({"qty": True}, "qty"),
    ({"qty": [10]}, "qty"),
    ({"qty": {"value": 10}}, "qty"),
    ({"limit_price": "abc"}, "limit_price"),
    ({"limit_price": True}, "limit_price"),
    ({"limit_price": [189.5]}, "limit_price"),
    ({"client_order_id": 5}, "client_order_id"),
    ({"client_order_id": "x" * 65}, "client_order_id"),
    ({"client_order_id": "tab\there"}, "client_order_id"),
    # missing fields
    ({"symbol": MISSING}, "symbol"),
    ({"side": MISSING}, "side"),
    ({"type": MISSING}, "type"),
    ({"qty": MISSING}, "qty"),
    ({"qty": None}, "qty"),
    ({"symbol": ""}, "symbol"),
    # quantities
    ({"qty": 0}, "qty"),
    ({"qty": -1}, "qty"),
    ({"qty": 1.5}, "qty"),
    ({"qty": "1.5"}, "qty"),
    ({"qty": 10**12}, "qty"),
    ({"qty": 10**100}, "qty"),
    ({"qty": "1e999999"}, "qty"),
    ({"qty": "-1e999999"}, "qty"),
    ({"qty": "NaN"}, "qty"),
    ({"qty": "Infinity"}, "qty"),
    # strings that Decimal() reads but no client means: digit separators, exponents, other
    # scripts' digits
    ({"qty": "1_0"}, "qty"),
    ({"qty": "1e1"}, "qty"),
    ({"qty": "\u0661"}, "qty"),
    ({"qty": "0x10"}, "qty"),
    # prices
    ({"limit_price": "189.505"}, "limit_price"),
    ({"limit_price": "189.5000001"}, "limit_price"),
    ({"limit_price": "-189.50"}, "limit_price"),
    ({"limit_price": 0}, "limit_price"),
    ({"limit_price": "1e999999"}, "limit_price"),
    ({"limit_price": "1e-999999"}, "limit_price"),
    ({"limit_price": "NaN"}, "limit_price"),
    ({"limit_price": "nan"}, "limit_price"),
    ({"limit_price": "sNaN"}, "limit_price"),
    ({"limit_price": "Infinity"}, "limit_price"),
    ({"limit_price": "-Infinity"}, "limit_price"),
    ({"limit_price": "inf"}, "limit_price"),
    ({"limit_price": "1_89.50"}, "limit_price"),
    ({"limit_price": "1.8950e2"}, "limit_price"),
    ({"limit_price": "\u0661\u0668\u0669"}, "limit_price"),
    ({"limit_price": "+189.50"}, "limit_price"),
    # unknown values
    ({"symbol": "ZZZZ"}, "symbol"),
    ({"symbol": "A" * 40}, "symbol"),
    ({"side": "hold"}, "side"),
    ({"type": "trailing_stop"}, "type"),
    ({"time_in_force": "opg"}, "time_in_force"),
    # cross-field rules
    ({"type": "limit", "limit_price": MISSING}, "limit_price"),
    ({"type": "limit", "limit_price": None}, "limit_price"),
    ({"type": "stop", "limit_price": MISSING}, "stop_price"),
    ({"type": "stop_limit", "stop_price": "190.00", "limit_price": MISSING}, "limit_price"),
    ({"type": "stop_limit", "stop_price": MISSING}, "stop_price"),
    ({"type": "market"}, "limit_price"),
    ({"type": "market", "limit_price": MISSING, "stop_price": "190.00"}, "stop_price"),
    ({"type": "limit", "stop_price": "190.00"}, "stop_price"),
    ({"stop_price": "190.001", "type": "stop_limit"}, "stop_price"),
    # fields the order ticket does not have
    ({"qty_typo": 10}, "non_field_errors"),
]


@pytest.mark.parametrize("changes,field", ORDER_CASES, ids=[repr(c) for c, _ in ORDER_CASES])
def test_order_create_refuses(alice_client, no_rows_written, changes, field):
    response = alice_client.post("/api/orders/", with_changes(VALID_ORDER, changes), format="json")
    assert_400_naming(response, field)


def test_order_create_lists_every_bad_field_at_once(alice_client, no_rows_written):
    response = alice_client.post(
        "/api/orders/", {"symbol": "ZZZZ", "side": "up", "type": "limit", "qty": 0}, format="json"
    )
    assert response.status_code == 400
    assert {"symbol", "side", "qty", "limit_price"} <= set(response.json())


def test_a_huge_exponent_is_refused_at_once(alice_client, no_rows_written):
    """int(Decimal("1e999999")) would spend about a minute of CPU per request."""
    start = time.monotonic()
    response = alice_client.post("/api/orders/", {**VALID_ORDER, "qty": "-1e999999"}, format="json")
    assert_400_naming(response, "qty")
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["limit_price", "qty"])
def test_order_create_refuses_nan_and_infinity_json_constants(
    alice_client, no_rows_written, constant, field
):
    raw = with_json_constant(VALID_ORDER, field, constant)
    response = alice_client.generic("POST", "/api/orders/", raw, content_type="application/json")
    assert_400_naming(response, field)


RAW_BODIES = [
    ('{"symbol": "AAPL", "side": "buy",', "detail"),
    ("{'symbol': 'AAPL'}", "detail"),
    ("", "symbol"),
    ("null", "non_field_errors"),
    ("[]", "non_field_errors"),
    ('[{"symbol": "AAPL"}]', "non_field_errors"),
    ('"AAPL"', "non_field_errors"),
    ("42", "non_field_errors"),
    ('{"symbol": "AAPL", "qty": 1' + "0" * 5000 + "}", "detail"),
    ("[" * 100_000 + "]" * 100_000, "detail"),
    (b'{"symbol": "\xff\xfe"}', "detail"),
]


@pytest.mark.parametrize(
    "raw,field",
    RAW_BODIES,
    ids=[
        "truncated",
        "single quotes",
        "empty",
        "null",
        "empty array",
        "array of objects",
        "string",
        "number",
        "5000-digit int",
        "nested 100000 deep",
        "not utf-8",
    ],
)
@pytest.mark.parametrize("url", ["/api/orders/", "/api/trades/"])
def test_unreadable_or_non_object_bodies_are_400(alice_client, no_rows_written, url, raw, field):
    response = alice_client.generic("POST", url, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    if url == "/api/orders/" or field != "symbol":
        assert field in response.json(), response.json()


def test_non_json_content_is_415_not_a_500(alice_client, no_rows_written):
    response = alice_client.post("/api/orders/", "symbol=AAPL", content_type="text/plain")
    assert response.status_code == 415
    assert response["Content-Type"].startswith("application/json")


def test_a_deeply_nested_body_on_the_token_endpoint_is_400(make_client, db):
    raw = "[" * 100_000 + "]" * 100_000
    response = make_client().generic(
        "POST", "/api/auth/token/", raw, content_type="application/json"
    )
    assert response.status_code == 400


@pytest.fixture
def aapl_in_lots_of_100(instruments):
    Instrument.objects.filter(symbol="AAPL").update(lot_size=100)
    invalidate_instrument_cache()
    yield
    invalidate_instrument_cache()


def test_an_order_off_the_lot_size_is_400(alice_client, aapl_in_lots_of_100):
    response = alice_client.post("/api/orders/", {**VALID_ORDER, "qty": 150}, format="json")
    assert_400_naming(response, "qty")
    assert "lot size 100" in response.json()["qty"][0]
    assert Order.objects.count() == 0
    ok = alice_client.post("/api/orders/", {**VALID_ORDER, "qty": 200}, format="json")
    assert ok.status_code == 201


def test_a_trade_off_the_lot_size_is_400(alice_client, aapl_in_lots_of_100):
    response = alice_client.post(
        "/api/trades/", {**VALID_TRADE, "ticker": "AAPL", "quantity": 150}, format="json"
    )
    assert_400_naming(response, "quantity")
    assert Trade.objects.count() == 0


def test_an_inactive_instrument_cannot_be_ordered(alice_client, instruments, no_rows_written):
    Instrument.objects.filter(symbol="TSLA").update(active=False)
    invalidate_instrument_cache()
    response = alice_client.post("/api/orders/", {**VALID_ORDER, "symbol": "TSLA"}, format="json")
    invalidate_instrument_cache()
    assert_400_naming(response, "symbol")


TRADE_CASES = [
    ({"ticker": MISSING}, "ticker"),
    ({"ticker": None}, "ticker"),
    ({"ticker": "ZZZZ"}, "ticker"),
    ({"ticker": 5}, "ticker"),
    ({"ticker": ["MSFT"]}, "ticker"),
    ({"price": MISSING}, "price"),
    ({"price": None}, "price"),
    ({"price": "abc"}, "price"),
    ({"price": True}, "price"),
    ({"price": [350.25]}, "price"),
    ({"price": -1}, "price"),
    ({"price": 0}, "price"),
    ({"price": "350.255"}, "price"),
    ({"price": "350.2500001"}, "price"),
    ({"price": "NaN"}, "price"),
    ({"price": "Infinity"}, "price"),
    ({"price": "-Infinity"}, "price"),
    ({"price": "1e999999"}, "price"),
    ({"price": 10**12}, "price"),
    ({"quantity": MISSING}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": -5}, "quantity"),
    ({"quantity": 2.5}, "quantity"),
    ({"quantity": "five"}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": 10**12}, "quantity"),
    ({"quantity": "1e999999"}, "quantity"),
    ({"quantity": "-1e999999"}, "quantity"),
    # a notional that would overflow the account's cash column
    ({"price": "999999999.99", "quantity": 999_999_999}, "quantity"),
    ({"side": MISSING}, "side"),
    ({"side": "hold"}, "side"),
    ({"side": 1}, "side"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": "2025-02-30T10:00:00Z"}, "timestamp"),
    ({"timestamp": 12345}, "timestamp"),
    ({"timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp"),
    ({"timestamp": "9999-12-31T23:59:59Z"}, "timestamp"),
    ({"timestamp": "2999-01-01T00:00:00Z"}, "timestamp"),
    ({"price": "3_50.25"}, "price"),
    ({"quantity": "\u0665"}, "quantity"),
    # fields a trade does not have (read-only ones, such as source, are ignored as DRF does)
    ({"qantity": 5}, "non_field_errors"),
]


@pytest.mark.parametrize("changes,field", TRADE_CASES, ids=[repr(c) for c, _ in TRADE_CASES])
def test_trade_create_refuses(alice_client, no_rows_written, changes, field):
    response = alice_client.post("/api/trades/", with_changes(VALID_TRADE, changes), format="json")
    assert_400_naming(response, field)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["price", "quantity"])
def test_trade_create_refuses_nan_and_infinity_json_constants(
    alice_client, no_rows_written, constant, field
):
    raw = with_json_constant(VALID_TRADE, field, constant)
    response = alice_client.generic("POST", "/api/trades/", raw, content_type="application/json")
    assert_400_naming(response, field)


def test_trade_update_refuses_bad_values_and_leaves_the_trade_alone(alice, alice_client):
    created = alice_client.post("/api/trades/", VALID_TRADE, format="json").json()
    url = f"/api/trades/{created['id']}/"
    for changes, field in [
        ({"price": "-1"}, "price"),
        ({"quantity": 0}, "quantity"),
        ({"ticker": "ZZZZ"}, "ticker"),
        ({"side": "short"}, "side"),
        ({"quantity": 999_999_999, "price": "9999.99"}, "quantity"),
    ]:
        assert_400_naming(alice_client.patch(url, changes, format="json"), field)
    trade = Trade.objects.get(pk=created["id"])
    assert (trade.ticker, trade.quantity, str(trade.price), trade.side) == (
        "MSFT",
        5,
        "350.250000",
        "buy",
    )
    assert Position.objects.get(account=alice[0]).qty == 5


def test_a_patch_of_the_quantity_alone_is_checked_against_the_stored_price(alice_client):
    created = alice_client.post(
        "/api/trades/", {**VALID_TRADE, "price": "5000.00"}, format="json"
    ).json()
    response = alice_client.patch(
        f"/api/trades/{created['id']}/", {"quantity": 999_999_999}, format="json"
    )
    assert_400_naming(response, "quantity")
    assert Trade.objects.get(pk=created["id"]).quantity == 5


@pytest.mark.parametrize(
    "query,field",
    [
        ("start_date=2025-13-01", "start_date"),
        ("end_date=yesterday", "end_date"),
        ("start_date=2025-02-30", "start_date"),
        ("end_date=20250115x", "end_date"),
        ("side=hold", "side"),
        ("source=broker", "source"),
        ("order_id=not-a-uuid", "order_id"),
    ],
)
def test_trade_filters_that_do_not_parse_are_400(alice_client, query, field):
    assert_400_naming(alice_client.get(f"/api/trades/?{query}"), field)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"symbols": []}, "symbols"),
        ({}, "symbols"),
        ({"symbols": "AAPL"}, "symbols"),
        ({"symbols": [["AAPL"]]}, "symbols"),
        ({"symbols": ["A" * 17]}, "symbols"),
        ({"symbols": ["AAPL"] * 101}, "symbols"),
    ],
)
def test_market_data_bad_requests_are_400(alice_client, body, field):
    assert_400_naming(alice_client.post("/api/market-data/", body, format="json"), field)


# PostgreSQL refuses NUL in text ("cannot contain NUL (0x00) bytes"): a NUL that reaches a query
# is a 500 there and nowhere else, so these run on both backends.


@pytest.mark.parametrize("ticker", ["\x00", "MS\x00FT", "\x00" * 20])
def test_a_nul_in_the_ticker_is_400(alice_client, no_rows_written, ticker):
    response = alice_client.post("/api/trades/", {**VALID_TRADE, "ticker": ticker}, format="json")
    assert_400_naming(response, "ticker")


def test_a_nul_in_a_patched_ticker_is_400(alice_client):
    created = alice_client.post("/api/trades/", VALID_TRADE, format="json").json()
    response = alice_client.patch(
        f"/api/trades/{created['id']}/", {"ticker": "\x00"}, format="json"
    )
    assert_400_naming(response, "ticker")


@pytest.mark.parametrize(
    "url",
    [
        "/api/instruments/%00/",
        "/api/instruments/AA%00PL/",
        "/api/positions/%00/",
        "/api/orders/%00/",
        "/api/trades/%00/",
    ],
)
def test_a_nul_in_a_path_is_404(alice_client, url):
    response = alice_client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "url,field",
    [
        ("/api/orders/?symbol=%00", "symbol"),
        ("/api/orders/by_client_order_id/?client_order_id=%00", "client_order_id"),
        ("/api/trades/?ticker=%00", "ticker"),
    ],
)
def test_a_nul_in_a_query_parameter_is_400(alice_client, url, field):
    assert_400_naming(alice_client.get(url), field)


@pytest.mark.parametrize("symbols", [["\x00"], ["AAPL", "TS\x00LA"]])
def test_a_nul_in_market_data_symbols_is_400(alice_client, symbols):
    response = alice_client.post("/api/market-data/", {"symbols": symbols}, format="json")
    assert_400_naming(response, "symbols")


@pytest.mark.parametrize(
    "query,field",
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=\u0661", "page"),
        ("page_size=0", "page_size"),
        ("page_size=ten", "page_size"),
    ],
)
@pytest.mark.parametrize("url", ["/api/orders/", "/api/trades/"])
def test_a_page_parameter_that_is_not_a_page_number_is_400(alice_client, url, query, field):
    assert_400_naming(alice_client.get(f"{url}?{query}"), field)


def test_page_last_and_a_page_past_the_end(alice_client):
    assert alice_client.get("/api/trades/?page=last").status_code == 200
    assert alice_client.get("/api/trades/?page=99").status_code == 404  # no such page


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "5001", "1.5"])
def test_equity_history_limit_out_of_range_is_400(alice_client, limit):
    assert_400_naming(alice_client.get(f"/api/portfolio/equity/?limit={limit}"), "limit")
