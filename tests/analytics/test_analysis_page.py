"""The analysis page and its JSON, through Django's test client with a logged-in session."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from tests.analytics.test_export_analysis import DAY_TRADES, record_all
from trading_app.models import TradeAnalysis

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, make_account):
    make_account("viewer")
    client.login(username="viewer", password="pw-viewer")
    return client


def page_config(html: str) -> dict:
    match = re.search(r'<script id="analysis-config" type="application/json">(.*?)</script>', html)
    assert match, "the page embeds its config"
    return json.loads(match.group(1))


def test_page_needs_a_login(client):
    response = client.get("/web/analysis/")
    assert response.status_code == 302
    assert response["Location"].startswith("/web/login/?next=/web/analysis/")


def test_page_shows_the_saved_analysis_after_run(local_store, record_trade, browser):
    from django.core.management import call_command

    record_all(record_trade)
    call_command("export_trades", "--date", "2025-01-20", stdout=None, stderr=None)
    empty = browser.get("/web/analysis/", {"date": "2025-01-20"})
    assert empty.status_code == 200
    assert page_config(empty.content.decode())["analysis"] is None

    # The page's button calls the API with the session cookie.
    run = browser.get("/api/trade-analysis/", {"date": "2025-01-20"})
    assert run.status_code == 200

    html = browser.get("/web/analysis/", {"date": "2025-01-20"}).content.decode()
    for chart in ("volume-chart", "vwap-chart", "hour-chart", "run-analysis", 'type="date"'):
        assert chart in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "websocket_app/analysis.js" in html
    config = page_config(html)
    assert config["date"] == "2025-01-20"
    assert config["analysis"]["total_trades"] == len(DAY_TRADES)
    assert config["apiUrl"] == "/api/trade-analysis/"
    # Without ?date= the page opens on the latest saved day.
    assert page_config(browser.get("/web/analysis/").content.decode())["date"] == "2025-01-20"

    data = browser.get("/web/analysis/data/", {"date": "2025-01-20"})
    assert data.status_code == 200
    assert data.json()["analysis"]["tickers"]["AAPL"]["vwap"]
    assert data.json()["invoked_via"] == "in-process:local"


def test_bad_dates_on_the_page_and_its_json(local_store, browser):
    page = browser.get("/web/analysis/", {"date": "2025-13-01"})
    assert page.status_code == 200
    assert "no such day" in page.content.decode()
    assert browser.get("/web/analysis/data/", {"date": "nope"}).json()["date"]
    assert browser.get("/web/analysis/data/", {"date": "nope"}).status_code == 400
    missing = browser.get("/web/analysis/data/", {"date": "2025-01-20"})
    assert missing.status_code == 404
    assert not TradeAnalysis.objects.filter(date=date(2025, 1, 20)).exists()


def test_monitor_links_to_the_analysis(client):
    assert 'href="/web/analysis/"' in client.get("/web/monitor/").content.decode()
