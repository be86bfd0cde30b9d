"""The trade analysis page in a real browser, after a real export of a day of real trading.

`make run`'s configuration (the monitor test's server: SQLite, the simulated market trading in
process), a day's trades exported with `manage.py export_trades` into the local store, then the
page: log in, pick the day, press Run analysis, and the figures and charts show what
GET /api/trade-analysis/ answers for that day.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.browser.test_monitor import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    LiveServer,
    login,
    seed_book,
    watch_problems,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def export_today(server: LiveServer) -> str:
    day = datetime.now(UTC).date().isoformat()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env["TRADINGSIM_VAR_DIR"] = str(server.log.parent)  # the server's var dir: its store
    done = subprocess.run(
        [sys.executable, "manage.py", "export_trades", "--date", day],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 file(s)" in done.stdout + done.stderr, done.stdout + done.stderr
    return day


def test_analysis_page_shows_an_exported_days_figures_and_charts(monitor_server: LiveServer):
    from playwright.sync_api import expect, sync_playwright

    seed_book(monitor_server)  # its market order trades at once
    day = export_today(monitor_server)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        problems: list[str] = []
        watch_problems(page, problems)
        try:
            login(page, monitor_server.base)
            page.goto(f"{monitor_server.base}/web/analysis/?date={day}")
            page.click("#run-analysis")
            expect(page.locator("#analysis-status")).to_have_text(
                f"Analysis saved for {day}", timeout=30_000
            )
            api = monitor_server.api(
                "GET", f"/api/trade-analysis/?date={day}", monitor_server.demo_token
            )["analysis"]
            trades = page.locator("#total-trades").inner_text()
            assert int(trades.replace(",", "")) == api["total_trades"] > 0
            notional = page.locator("#total-notional").inner_text()
            assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d+", notional), notional
            assert notional.replace(",", "") == api["total_notional"]
            rows = page.locator("#tickers-table tbody tr")
            expect(rows).to_have_count(len(api["tickers"]))
            expect(rows.filter(has_text="AAPL")).to_have_count(1)
            for canvas in ("volume-chart", "vwap-chart", "hour-chart"):  # drawn, not blank
                blank = page.evaluate(
                    """(id) => { const c = document.getElementById(id);
                        const blank = document.createElement('canvas');
                        blank.width = c.width; blank.height = c.height;
                        return c.toDataURL() === blank.toDataURL(); }""",
                    canvas,
                )
                assert not blank, f"{canvas} is blank"
            page.screenshot(path=os.environ.get("ANALYSIS_SCREENSHOT", "/tmp/analysis.png"))
        finally:
            browser.close()
    assert problems == [], problems
