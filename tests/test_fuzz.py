"""Property-based fuzzing of the REST API: whatever a client sends, the answer is never a 5xx.

Hypothesis throws arbitrary JSON at the order and trade endpoints, field by field and as whole
bodies; schemathesis then walks every operation of /api/schema/. Anything accepted must also be
a valid record, and anything refused must leave no row behind.
"""

import json
from decimal import Decimal

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from trading_app.models import Account, Order, Position, Trade

pytestmark = pytest.mark.django_db


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies --------------------------------------------------------------------------------

NASTY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-0",
        "1e999999",
        "-1e999999",
        "1e-999999",
        "NaN",
        "sNaN",
        "Infinity",
        "-inf",
        "1_000",
        "0x10",
        "١٢٣",
        "189.50",
        "189.505",
        "1" * 400,
        "\x00",
        "AAPL\n",
        "'; DROP TABLE trading_app_order; --",
        "🚀",
    ]
)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=False, allow_infinity=False, places=None).map(str)
    | st.text(max_size=30)
    | NASTY_STRINGS
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


def field(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly plausible values (so deeper validation runs), else anything JSON can carry."""
    return st.one_of(plausible, plausible, JSON_VALUES)


PRICES = st.decimals(min_value="-10", max_value="2000000000", places=3).map(str) | st.integers(
    -5, 10**10
)
QUANTITIES = st.integers(-5, 2 * 10**9) | st.sampled_from(["10", "1.0", "2.5", "1e3", 0])
SYMBOLS = st.sampled_from(["AAPL", "msft", "TSLA", "ZZZZ", "", "SPY "])

ORDER_FIELDS = {
    "symbol": field(SYMBOLS),
    "side": field(st.sampled_from(["buy", "sell", "SELL", "hold"])),
    "type": field(st.sampled_from(["market", "limit", "stop", "stop_limit", "trailing"])),
    "qty": field(QUANTITIES),
    "limit_price": field(PRICES),
    "stop_price": field(PRICES),
    "time_in_force": field(st.sampled_from(["day", "gtc", "ioc", "fok", "opg"])),
    "client_order_id": field(st.text(max_size=70)),
}
TRADE_FIELDS = {
    "ticker": field(SYMBOLS),
    "side": field(st.sampled_from(["buy", "sell", "short"])),
    "price": field(PRICES),
    "quantity": field(QUANTITIES),
    "timestamp": field(
        st.datetimes().map(lambda d: d.isoformat())
        | st.sampled_from(["2025-01-15T10:00:00Z", "9999-12-31T23:59:59-01:00", "yesterday"])
    ),
}


def bodies(fields: dict) -> st.SearchStrategy:
    """Objects with any subset of the real fields (sometimes an extra key), or any JSON at all."""
    objects = st.fixed_dictionaries({}, optional=fields).flatmap(
        lambda body: st.just(body)
        | st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=2).map(
            lambda extra: {**extra, **body}
        )
    )
    return st.one_of(objects, objects, objects, JSON_VALUES)


RAW_TEXT = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.sampled_from(['{"symbol": ', "[" * 5000, '{"qty": NaN}', '{"a": Infinity}', "{}" * 3]),
)


def as_json(body) -> str:
    """json.dumps writes NaN and Infinity as bare tokens, which real clients do send."""
    return json.dumps(body, default=str)


def counts() -> tuple[int, int, int]:
    return Order.objects.count(), Trade.objects.count(), Position.objects.count()


def post_raw(client, url: str, text: str):
    return client.generic("POST", url, text.encode("utf-8", "surrogatepass"), "application/json")


# --- properties -----------------------------------------------------------------------------


@FUZZ
@given(body=bodies(ORDER_FIELDS))
def test_order_create_never_answers_5xx(alice, alice_client, instruments, body):
    before = counts()
    response = post_raw(alice_client, "/api/orders/", as_json(body))

    assert response.status_code < 500, (body, response.content)
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 400:
        assert counts() == before
    else:
        assert response.status_code == 201, response.content
        assert counts()[0] == before[0] + 1
        order = Order.objects.get(pk=response.json()["id"])
        assert order.account == alice[0]
        assert 0 < order.qty <= 10**9
        for price in (order.limit_price, order.stop_price):
            assert price is None or (price > 0 and price % order.instrument.tick_size == 0)


@FUZZ
@given(body=bodies(TRADE_FIELDS))
def test_trade_create_never_answers_5xx(alice, alice_client, instruments, body):
    before = counts()
    response = post_raw(alice_client, "/api/trades/", as_json(body))

    assert response.status_code < 500, (body, response.content)
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 400:
        assert counts() == before
    else:
        assert response.status_code == 201, response.content
        trade = Trade.objects.get(pk=response.json()["id"])
        assert trade.quantity > 0
        assert trade.price > 0
        assert trade.price % trade.instrument.tick_size == 0
        # The account must stay readable: a stored value the backend cannot load back is a bug.
        assert isinstance(Account.objects.get(pk=alice[0].pk).cash, Decimal)


@settings(FUZZ, max_examples=60)
@given(
    changes=st.fixed_dictionaries({}, optional=TRADE_FIELDS),
    method=st.sampled_from(["put", "patch"]),
)
def test_trade_update_never_answers_5xx_and_refusals_change_nothing(
    alice_client, instruments, changes, method
):
    created = alice_client.post(
        "/api/trades/",
        {"ticker": "MSFT", "price": "350.25", "quantity": 5, "side": "buy"},
        format="json",
    ).json()
    before = Trade.objects.get(pk=created["id"])
    response = alice_client.generic(
        method.upper(), f"/api/trades/{created['id']}/", as_json(changes), "application/json"
    )

    assert response.status_code < 500, (changes, response.content)
    if response.status_code == 400:
        after = Trade.objects.get(pk=created["id"])
        assert (after.price, after.quantity, after.side, after.ticker) == (
            before.price,
            before.quantity,
            before.side,
            before.ticker,
        )
    else:
        assert response.status_code == 200, response.content


@settings(FUZZ, max_examples=80)
@given(text=RAW_TEXT, url=st.sampled_from(["/api/orders/", "/api/trades/", "/api/market-data/"]))
def test_arbitrary_request_bodies_never_answer_5xx(alice_client, instruments, text, url):
    before = counts()
    response = post_raw(alice_client, url, text)
    assert response.status_code < 500, (text, response.content)
    if response.status_code >= 400:
        assert counts() == before


@settings(FUZZ, max_examples=80)
@given(
    query=st.dictionaries(
        st.sampled_from(
            ["ticker", "side", "source", "start_date", "end_date", "order_id", "page", "page_size"]
        ),
        st.text(max_size=20) | st.dates().map(str),
        max_size=4,
    ),
    url=st.sampled_from(["/api/trades/", "/api/orders/"]),
)
def test_list_filters_never_answer_5xx(alice_client, instruments, query, url):
    response = alice_client.get(url, query)
    assert response.status_code < 500, (query, response.content)


# --- schemathesis over the published schema ---------------------------------------------------


def json_bodies_only(schema: dict) -> dict:
    """Keep the JSON request bodies: werkzeug's test client cannot send schemathesis' malformed
    form and multipart bodies (it raises before the request leaves), and JSON is what we fuzz."""
    for path in schema["paths"].values():
        for operation in path.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type in list(content):
                if media_type != "application/json":
                    del content[media_type]
    return schema


SCHEMA = schemathesis.openapi.from_dict(
    json_bodies_only(
        json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    )
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# Negative cases need a body to break (any string is a valid path or query value), and the
# bodies are where the bad input comes in; the time budget goes there.
# schemathesis 4.1 draws no negative case at all for PATCH /api/orders/{id}/ (Unsatisfiable: its
# uuid path parameter, the only one among body operations); its bad bodies are tested by hand in
# tests/api/test_orders.py (test_patch_with_bad_fields_is_a_400_naming_them and the next ones).
NO_NEGATIVE = {"PATCH /api/orders/{id}/"}
CASES = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE)
    for op in OPERATIONS
    if len(op.body) and op.label not in NO_NEGATIVE
]


@pytest.fixture
def wsgi_app():
    """Django's WSGI app as the test client runs it: without closing the test's DB connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize(
    "operation,mode", CASES, ids=[f"{mode.value} {op.label}" for op, mode in CASES]
)
def test_schemathesis_finds_no_server_error(alice, instruments, wsgi_app, operation, mode):
    token = alice[1]

    # Negative generation of small bodies (a PATCH of optional fields) discards many draws that
    # turn out valid; that is schemathesis at work, not a failure of the API under test.
    @settings(
        FUZZ,
        max_examples=6,
        suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(app=wsgi_app, headers={"Authorization": f"Token {token}"})
        assert response.status_code < 500, case.as_curl_command()

    check()
