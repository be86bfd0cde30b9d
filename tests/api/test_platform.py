"""Cross-cutting behaviour: pagination, JSON everywhere, health, the schema and the docs."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from trading_app.models import Order, Trade, TradeSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_trades(alice, instruments):
    start = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
    Trade.objects.bulk_create(
        Trade(
            account=alice[0],
            instrument=instruments["AAPL"],
            ticker="AAPL",
            side="buy",
            price="190.00",
            quantity=1,
            timestamp=start + timedelta(minutes=i),
            source=TradeSource.MANUAL,
        )
        for i in range(75)
    )


def test_lists_are_paginated_with_count_next_and_results(alice_client, many_trades):
    first = alice_client.get("/api/trades/").json()
    assert first["count"] == 75
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].endswith("/api/trades/?page=2")

    second = alice_client.get(first["next"]).json()
    assert len(second["results"]) == 25
    assert second["next"] is None
    ids = {t["id"] for t in first["results"]} | {t["id"] for t in second["results"]}
    assert len(ids) == 75


def test_page_size_is_chosen_by_the_client_and_capped(alice_client, many_trades):
    body = alice_client.get("/api/trades/?page_size=10&ticker=AAPL").json()
    assert len(body["results"]) == 10
    assert "page_size=10" in body["next"]
    assert "ticker=AAPL" in body["next"]
    assert len(alice_client.get("/api/trades/?page_size=100000").json()["results"]) == 75


def test_a_page_past_the_end_is_a_json_404(alice_client, many_trades):
    response = alice_client.get("/api/trades/?page=99")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_order_lists_are_paginated(alice, alice_client, instruments):
    Order.objects.bulk_create(
        Order(
            account=alice[0],
            instrument=instruments["MSFT"],
            client_order_id=f"c{i}",
            side="buy",
            type="market",
            time_in_force="day",
            qty=1,
        )
        for i in range(3)
    )
    body = alice_client.get("/api/orders/?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


@pytest.mark.parametrize(
    "path",
    ["/api/nothing-here/", "/api/orders/extra/segments/here/", "/api/v2/orders/"],
)
def test_an_unknown_api_path_is_a_json_404(alice_client, path):
    response = alice_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


def test_an_api_path_without_its_trailing_slash_still_redirects(alice_client):
    response = alice_client.get("/api/orders")
    assert response.status_code == 301
    assert response["Location"] == "/api/orders/"


def test_a_wrong_method_is_a_json_405(alice_client):
    response = alice_client.post("/api/account/", {}, format="json")
    assert response.status_code == 405
    assert response.json()["detail"]


def test_healthz_reports_database_cache_and_channel_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer"}
    for name, check in body["checks"].items():
        assert check["ok"] is True, (name, check)
    assert body["checks"]["database"]["vendor"] in {"sqlite", "postgresql"}
    assert body["checks"]["cache"]["backend"] in {"LocMemCache", "RedisCache"}
    assert body["checks"]["channel_layer"]["backend"] in {
        "InMemoryChannelLayer",
        "RedisChannelLayer",
    }


def test_healthz_reports_a_failing_part_as_503(client, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "set", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["ok"] is False
    assert "cache down" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_the_openapi_schema_is_served_and_lists_the_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/auth/token/",
        "/api/orders/",
        "/api/orders/{id}/",
        "/api/orders/by_client_order_id/",
        "/api/trades/",
        "/api/trades/{id}/",
        "/api/account/",
        "/api/positions/",
        "/api/instruments/",
        "/api/market-data/",
    ]:
        assert path in schema["paths"], path
    trade_params = {p["name"] for p in schema["paths"]["/api/trades/"]["get"]["parameters"]}
    assert {"ticker", "side", "start_date", "end_date", "page", "page_size"} <= trade_params
    create = schema["paths"]["/api/orders/"]["post"]["requestBody"]["content"]["application/json"]
    assert create["examples"], "the order ticket should come with an example"


@pytest.mark.parametrize(
    ("url", "script"), [("/api/docs/", "swagger-ui-bundle"), ("/api/redoc/", "redoc")]
)
def test_the_docs_pages_load_their_scripts_from_static_not_a_cdn(client, url, script):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(script in s for s in sources), sources
    for source in sources:
        assert source.startswith("/static/"), source
    assert "cdn" not in html.lower() and "https://" not in html

    bundle = next(s for s in sources if script in s)
    script = client.get(bundle)
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]


def test_the_root_redirects_to_the_docs(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"


def test_the_admin_login_page_renders():
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_an_unexpected_error_is_a_json_500_without_a_traceback(alice_client, monkeypatch):
    def boom(symbols):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("trading_app.api.views.latest_quotes", boom)
    response = alice_client.post("/api/market-data/", {"symbols": ["AAPL"]}, format="json")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; the request was not applied"}
    assert b"secret internals" not in response.content


def test_the_schema_builds_without_a_warning(db, tmp_path):
    """A warning means a client generator guesses (an untyped parameter, a duplicate
    operation id): drf-spectacular's own strict mode fails on any; --validate checks the result
    against the OpenAPI 3 specification."""
    from django.core.management import call_command

    call_command(
        "spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml")
    )
