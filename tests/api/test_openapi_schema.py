"""/api/schema/ says what the server returns: the hand-built bodies (risk, portfolio, strategies,
backtests, market data) have their real fields, money is a Decimal string, errors are documented
with their real shape, and real responses validate against the documented ones."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest
from django.utils import timezone

from algo_trading.django_adapters.runs import LiveConfig, create_run
from algo_trading.metrics import METRIC_KEYS
from trading_app.models import EquitySnapshot, StrategyRun
from trading_app.risk.limits import LIMIT_FIELDS

pytestmark = pytest.mark.django_db

# The operations whose bodies the views build by hand, with the statuses each documents.
HAND_BUILT = {
    ("/api/backtests/", "get"): {"200", "400", "401", "404"},
    ("/api/backtests/", "post"): {"201", "400", "401", "403"},
    ("/api/backtests/{id}/", "get"): {"200", "401", "404"},
    ("/api/strategies/", "get"): {"200", "401"},
    ("/api/strategies/runs/", "get"): {"200", "400", "401", "404"},
    ("/api/strategies/runs/", "post"): {"201", "400", "401", "403", "409"},
    ("/api/strategies/runs/{id}/", "get"): {"200", "401", "404"},
    ("/api/strategies/runs/{id}/stop/", "post"): {"200", "202", "401", "403", "404"},
    ("/api/portfolio/", "get"): {"200", "401", "403", "404"},
    ("/api/portfolio/equity/", "get"): {"200", "400", "401", "403", "404"},
    ("/api/risk/metrics/", "get"): {"200", "401", "403", "404"},
    ("/api/risk/limits/", "get"): {"200", "401", "403", "404"},
    ("/api/risk/limits/", "patch"): {"200", "400", "401", "403", "404"},
    ("/api/risk/halt/", "post"): {"200", "400", "401", "403", "404"},
    ("/api/risk/resume/", "post"): {"200", "400", "401", "403", "404"},
    ("/api/market-data/", "post"): {"200", "400", "401", "403"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def component(schema: dict, node: dict) -> dict:
    """A schema with its $ref (or a single allOf $ref) followed."""
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif len(node.get("allOf", [])) == 1:
            node = node["allOf"][0]
        else:
            return node


def body_schema(schema: dict, path: str, method: str, status: str) -> dict:
    response = schema["paths"][path][method]["responses"][status]
    return response["content"]["application/json"]["schema"]


def properties(schema: dict, node: dict) -> set[str]:
    return set(component(schema, node).get("properties", {}))


# --- the schema itself -------------------------------------------------------------------------


def test_no_json_response_is_a_free_form_object(schema):
    """`{"type": "object", "additionalProperties": {}}` tells a client nothing."""
    free = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                media = response.get("content", {}).get("application/json")
                if media is None:
                    continue
                node = component(schema, media["schema"])
                if node.get("type") == "array":
                    node = component(schema, node["items"])
                if node.get("type") == "object" and not node.get("properties"):
                    free.append(f"{method.upper()} {path} {status}")
    assert free == []


@pytest.mark.parametrize(("path", "method"), sorted(HAND_BUILT))
def test_hand_built_bodies_document_their_fields_and_errors(schema, path, method):
    operation = schema["paths"][path][method]
    assert set(operation["responses"]) == HAND_BUILT[(path, method)]
    for status, response in operation["responses"].items():
        node = response["content"]["application/json"]["schema"]
        if status >= "400":
            name = "ValidationError" if status == "400" else "Error"
            assert node == {"$ref": f"#/components/schemas/{name}"}, status
            assert response["description"] and response["content"]["application/json"]["examples"]
        else:
            assert properties(schema, node) or component(schema, node).get("type") == "array"


def test_the_success_bodies_name_their_real_fields(schema):
    def fields(path, method, status="200"):
        return properties(schema, body_schema(schema, path, method, status))

    assert fields("/api/portfolio/", "get") >= {
        "account", "cash", "equity", "day_pnl", "positions", "pnl_by_instrument",
    }  # fmt: skip
    assert fields("/api/risk/metrics/", "get") >= {"var_95_1d", "max_drawdown", "position_sizing"}
    limits = body_schema(schema, "/api/risk/limits/", "get", "200")
    for part in ("limits", "overrides", "defaults"):
        node = component(schema, component(schema, limits)["properties"][part])
        assert set(node["properties"]) == set(LIMIT_FIELDS)
    assert fields("/api/risk/halt/", "post") == {"scope", "account", "halted", "reason"}
    assert fields("/api/market-data/", "post") == {"data"}
    assert fields("/api/backtests/", "post", "201") >= {"id", "metrics", "config", "chart_url"}
    detail = body_schema(schema, "/api/backtests/{id}/", "get", "200")
    assert "trades" in properties(schema, detail)
    metrics = component(schema, component(schema, detail)["properties"]["metrics"])
    assert set(metrics["properties"]) == set(METRIC_KEYS)
    for path, method, status in [
        ("/api/strategies/runs/", "post", "201"),
        ("/api/strategies/runs/{id}/", "get", "200"),
        ("/api/strategies/runs/{id}/stop/", "post", "202"),
    ]:
        assert fields(path, method, status) >= {"id", "status", "position", "pnl", "config"}
    listed = component(schema, body_schema(schema, "/api/strategies/runs/", "get", "200"))
    assert set(listed["properties"]) == {"count", "next", "previous", "results"}
    strategies = component(schema, body_schema(schema, "/api/strategies/", "get", "200"))
    assert strategies["type"] == "array"
    assert properties(schema, strategies["items"]) == {
        "name", "description", "vectorisable", "params",
    }  # fmt: skip


def test_the_risk_request_bodies_document_their_fields(schema):
    def request(path, method):
        body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        return component(schema, body["schema"])

    patch = request("/api/risk/limits/", "patch")
    assert set(patch["properties"]) == set(LIMIT_FIELDS)
    assert patch["properties"]["max_order_qty"]["type"] == "integer"
    collar = patch["properties"]["price_collar_pct"]
    assert {"type": "number"} in collar["oneOf"] and collar["nullable"] is True
    for path in ("/api/risk/halt/", "/api/risk/resume/"):
        halt = request(path, "post")
        assert set(halt["properties"]) == {"scope", "account", "reason"}
        assert halt["required"] == ["scope"]
        assert component(schema, halt["properties"]["scope"])["enum"] == ["account", "exchange"]


def test_trade_prices_are_decimal_strings(schema):
    components = schema["components"]["schemas"]
    price = components["Trade"]["properties"]["price"]
    assert price["type"] == "string" and price["format"] == "decimal"
    assert re.fullmatch(price["pattern"], "350.25")
    # a client may send the price as a string or as a JSON number; both are read exactly
    for name in ("TradeRequest", "PatchedTradeRequest"):
        sent = components[name]["properties"]["price"]["oneOf"]
        assert {"type": "number"} in sent
        assert any(s.get("type") == "string" and s.get("format") == "decimal" for s in sent)


MONEY = re.compile(r"price|cash|equity|pnl|_pl$|_value$|cost|exposure|notional|loss")


def test_money_is_never_documented_as_a_float(schema):
    """Except the backtester's own results, which are floats (plain JSON numbers)."""
    floats = []
    for name, node in schema["components"]["schemas"].items():
        if name.startswith("Backtest"):
            continue
        for field, prop in node.get("properties", {}).items():
            if MONEY.search(field) and (
                prop.get("type") == "number" or prop.get("format") == "double"
            ):
                floats.append(f"{name}.{field}")
    assert floats == []


def test_the_error_bodies_have_the_exception_handlers_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"] == {
        "detail": {"type": "string", "description": "what went wrong, in one sentence"}
    }
    assert error["required"] == ["detail"]
    invalid = schema["components"]["schemas"]["ValidationError"]
    assert set(invalid["properties"]) == {"detail", "non_field_errors"}
    assert "required" not in invalid
    messages = {"type": "array", "items": {"type": "string"}}
    assert messages in invalid["additionalProperties"]["oneOf"]


# --- real responses against the schema ---------------------------------------------------------


def as_json_schema(node, strict: bool = True):
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null alternative, and (strict) an object
    with documented properties has no others unless it says so."""
    if isinstance(node, list):
        return [as_json_schema(n, strict) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("nullable", "readOnly", "writeOnly", "example", "examples"):
            continue
        if key == "properties":
            out[key] = {name: as_json_schema(prop, strict) for name, prop in value.items()}
        else:
            out[key] = as_json_schema(value, strict)
    if strict and out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def conforms(schema):
    components = as_json_schema(schema["components"]["schemas"])

    def check(response, path: str, method: str) -> dict:
        """The response's status is documented for the operation and its body validates."""
        status = str(response.status_code)
        documented = schema["paths"][path][method]["responses"]
        assert status in documented, (path, method, status, response.content)
        body = response.json()
        node = documented[status]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator(
            {"components": {"schemas": components}, **as_json_schema(node)}
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], (path, method, status)
        return body

    return check


@pytest.fixture
def staff(make_account, instruments):
    account, token = make_account("staffer")
    account.user.is_staff = True
    account.user.save()
    return account, token


@pytest.fixture
def alice_with_history(alice, alice_client):
    """A manual trade (a position to value) and an equity snapshot (a point to show)."""
    response = alice_client.post(
        "/api/trades/",
        {"ticker": "MSFT", "price": "350.25", "quantity": 5, "side": "buy"},
        format="json",
    )
    assert response.status_code == 201
    EquitySnapshot.objects.create(
        account=alice[0],
        timestamp=timezone.now() - timedelta(minutes=5),
        cash=Decimal("998248.75"),
        market_value=Decimal("1751.25"),
        gross_exposure=Decimal("1751.25"),
        equity=Decimal("1000000"),
    )
    return alice


def test_portfolio_keys_are_the_documented_properties(alice_with_history, alice_client, schema):
    body = alice_client.get("/api/portfolio/").json()
    documented = component(schema, body_schema(schema, "/api/portfolio/", "get", "200"))
    assert set(body) == set(documented["properties"])
    position = component(schema, documented["properties"]["positions"]["items"])
    assert body["positions"] and set(body["positions"][0]) == set(position["properties"])


def test_trade_prices_are_strings_as_documented(alice_with_history, alice_client, schema):
    price = schema["components"]["schemas"]["Trade"]["properties"]["price"]
    validator = jsonschema.Draft202012Validator(as_json_schema(price))
    for trade in alice_client.get("/api/trades/").json()["results"]:
        assert trade["price"] == "350.25"
        validator.validate(trade["price"])


def test_trades_validate(alice_with_history, alice_client, conforms):
    conforms(alice_client.get("/api/trades/"), "/api/trades/", "get")


def test_risk_and_portfolio_responses_validate(
    alice_with_history, alice_client, staff, make_client, conforms
):
    assert conforms(alice_client.get("/api/portfolio/"), "/api/portfolio/", "get")["positions"]
    equity = conforms(alice_client.get("/api/portfolio/equity/"), "/api/portfolio/equity/", "get")
    assert equity["points"]
    conforms(alice_client.get("/api/risk/metrics/"), "/api/risk/metrics/", "get")
    conforms(alice_client.get("/api/risk/limits/"), "/api/risk/limits/", "get")
    for path in ("/api/risk/halt/", "/api/risk/resume/"):
        conforms(alice_client.post(path, {"scope": "account"}, format="json"), path, "post")

    boss = make_client(staff[1])
    changed = boss.patch(
        "/api/risk/limits/?account=alice",
        {"max_order_qty": 50, "price_collar_pct": "5", "max_daily_loss": 2500.5},
        format="json",
    )
    assert conforms(changed, "/api/risk/limits/", "patch")["overrides"]["max_order_qty"] == 50
    for path in ("/api/risk/halt/", "/api/risk/resume/"):
        conforms(boss.post(path, {"scope": "exchange"}, format="json"), path, "post")
        conforms(
            boss.post(path, {"scope": "account", "account": "alice", "reason": "x"}, format="json"),
            path,
            "post",
        )

    # the errors, as documented
    conforms(make_client().get("/api/portfolio/"), "/api/portfolio/", "get")  # 401
    conforms(alice_client.get("/api/portfolio/?account=staffer"), "/api/portfolio/", "get")  # 403
    conforms(boss.get("/api/risk/metrics/?account=nobody"), "/api/risk/metrics/", "get")  # 404
    bad = alice_client.get("/api/portfolio/equity/?limit=0")
    assert conforms(bad, "/api/portfolio/equity/", "get") == {
        "limit": ["must be a whole number from 1 to 5000"]
    }
    refused = alice_client.patch("/api/risk/limits/", {"max_order_qty": 1}, format="json")
    assert refused.status_code == 403
    conforms(refused, "/api/risk/limits/", "patch")
    invalid = boss.patch("/api/risk/limits/", {"max_order_qty": "x", "nope": 1}, format="json")
    assert set(conforms(invalid, "/api/risk/limits/", "patch")) == {"max_order_qty", "nope"}
    conforms(
        alice_client.post("/api/risk/halt/", {"scope": "x"}, format="json"),
        "/api/risk/halt/",
        "post",
    )
    conforms(
        alice_client.post("/api/risk/halt/", {"scope": "exchange"}, format="json"),
        "/api/risk/halt/",
        "post",
    )


def test_market_data_validates(alice_client, make_client, conforms):
    body = conforms(
        alice_client.post("/api/market-data/", {"symbols": ["AAPL", "zzz"]}, format="json"),
        "/api/market-data/",
        "post",
    )
    assert body["data"]["AAPL"]["price"] == "190.00" and "error" in body["data"]["ZZZ"]
    too_long = alice_client.post("/api/market-data/", {"symbols": ["A" * 20]}, format="json")
    assert conforms(too_long, "/api/market-data/", "post")["symbols"]["0"]
    not_json = alice_client.post("/api/market-data/", "{bad", content_type="application/json")
    assert "detail" in conforms(not_json, "/api/market-data/", "post")
    conforms(
        make_client().post("/api/market-data/", {"symbols": ["AAPL"]}, format="json"),
        "/api/market-data/",
        "post",
    )


def test_strategies_and_backtests_validate(alice_client, make_client, conforms, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    strategies = conforms(alice_client.get("/api/strategies/"), "/api/strategies/", "get")
    assert {s["name"] for s in strategies} >= {"ma_crossover"}
    created = alice_client.post(
        "/api/backtests/",
        {"strategy": "ma_crossover", "params": {"fast": 5, "slow": 20}, "data": "sample"},
        format="json",
    )
    run = conforms(created, "/api/backtests/", "post")
    assert run["status"] == "done" and "trades" not in run
    detail = conforms(
        alice_client.get(f"/api/backtests/{run['id']}/"), "/api/backtests/{id}/", "get"
    )
    assert detail["trades"]
    listed = conforms(alice_client.get("/api/backtests/"), "/api/backtests/", "get")
    assert listed["results"][0]["id"] == run["id"]

    conforms(alice_client.get("/api/backtests/?page=9"), "/api/backtests/", "get")  # 404
    conforms(alice_client.get("/api/backtests/?page=x"), "/api/backtests/", "get")  # 400
    conforms(alice_client.get("/api/backtests/999999/"), "/api/backtests/{id}/", "get")
    conforms(make_client().get("/api/backtests/"), "/api/backtests/", "get")
    bad = alice_client.post("/api/backtests/", {"strategy": "nope"}, format="json")
    assert "strategy" in conforms(bad, "/api/backtests/", "post")


def test_strategy_runs_validate(alice, alice_client, make_client, conforms, monkeypatch):
    no_runner = alice_client.post(
        "/api/strategies/runs/", {"strategy": "ma_crossover", "symbol": "AAPL"}, format="json"
    )
    assert no_runner.status_code == 409
    conforms(no_runner, "/api/strategies/runs/", "post")

    class Runner:  # the in-process runner of `manage.py serve`, as far as the view can tell
        available = True

    monkeypatch.setattr("trading_app.api.strategy_views.manager", Runner())
    created = alice_client.post(
        "/api/strategies/runs/",
        {"strategy": "ma_crossover", "symbol": "aapl", "params": {"fast": 2, "slow": 3}, "qty": 5},
        format="json",
    )
    assert conforms(created, "/api/strategies/runs/", "post")["status"] == "starting"
    both = alice_client.post(
        "/api/strategies/runs/",
        {"strategy": "ma_crossover", "symbol": "AAPL", "qty": 5, "sizing": {"model": "fixed"}},
        format="json",
    )
    assert conforms(both, "/api/strategies/runs/", "post") == {
        "qty": ["give qty or sizing, not both"]
    }

    run = create_run(alice[0], "ma_crossover", "AAPL", {}, LiveConfig())
    StrategyRun.objects.filter(pk=run.pk).update(last_price=Decimal("190.05"), position=10)
    detail = "/api/strategies/runs/{id}/"
    body = conforms(alice_client.get(f"/api/strategies/runs/{run.pk}/"), detail, "get")
    assert body["last_price"] == "190.05"
    conforms(alice_client.get("/api/strategies/runs/"), "/api/strategies/runs/", "get")
    stop = "/api/strategies/runs/{id}/stop/"
    stopping = alice_client.post(f"/api/strategies/runs/{run.pk}/stop/")
    assert stopping.status_code == 202
    conforms(stopping, stop, "post")
    StrategyRun.objects.filter(pk=run.pk).update(status=StrategyRun.STOPPED)
    stopped = alice_client.post(f"/api/strategies/runs/{run.pk}/stop/")
    assert stopped.status_code == 200
    conforms(stopped, stop, "post")

    conforms(alice_client.get("/api/strategies/runs/999999/"), detail, "get")
    conforms(alice_client.post("/api/strategies/runs/999999/stop/"), stop, "post")
    conforms(make_client().get(f"/api/strategies/runs/{run.pk}/"), detail, "get")
