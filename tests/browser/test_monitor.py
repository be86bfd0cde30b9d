"""The monitor page in a real browser: Debian's chromium, headless, driven by Playwright.

The server is the real thing: `manage.py serve` in a subprocess with a var dir of its own (the
embedded configuration of `make run`: SQLite, in-memory channel layer, the matching worker and
the simulated price feed and market in-process), after migrate + bootstrap_demo. The test seeds
a few resting orders over REST so that the book has depth at once, then logs in as demo, connects to AAPL,
waits for price ticks and the depth chart, places an order from the ticket and sees it in the
open orders, cancels it, and saves a screenshot (MONITOR_SCREENSHOT, default /tmp/monitor.png).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOT = os.environ.get("MONITOR_SCREENSHOT", "/tmp/monitor.png")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, base: str, demo_token: str, admin_token: str, log: Path) -> None:
        self.base, self.demo_token, self.admin_token, self.log = base, demo_token, admin_token, log

    def api(self, method: str, path: str, token: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")


@pytest.fixture(scope="module")
def monitor_server() -> Iterator[LiveServer]:
    if not Path(CHROMIUM).exists():
        # `make test` installs chromium (scripts/test_servers.py): missing there is a failure;
        # a bare `pytest` on a machine without it may skip the page.
        if os.environ.get("TRADINGSIM_TEST_BACKENDS"):
            pytest.fail("chromium is missing although make test installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    var_dir = Path(tempfile.mkdtemp(prefix="tradingsim-browser-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update({"TRADINGSIM_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"})
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    boot = subprocess.run(
        [*manage, "bootstrap_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    tokens = dict(re.findall(r"(demo|admin) token: (\w+)", boot.stdout))
    port = free_port()
    log = var_dir / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [*manage, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"serve did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield LiveServer(base, tokens["demo"], tokens["admin"], log)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(var_dir, ignore_errors=True)


def seed_book(server: LiveServer) -> None:
    """Resting orders on both sides and one trade, so the depth chart and trades have content."""
    for price, qty in (("189.50", 30), ("189.40", 60), ("189.20", 90), ("188.90", 150)):
        server.api(
            "POST",
            "/api/orders/",
            server.demo_token,
            {
                "symbol": "AAPL",
                "side": "buy",
                "type": "limit",
                "qty": qty,
                "limit_price": price,
                "time_in_force": "gtc",
            },
        )
    for price, qty in (("190.10", 40), ("190.30", 70), ("190.60", 120), ("191.00", 160)):
        server.api(
            "POST",
            "/api/orders/",
            server.admin_token,
            {
                "symbol": "AAPL",
                "side": "sell",
                "type": "limit",
                "qty": qty,
                "limit_price": price,
                "time_in_force": "gtc",
            },
        )
    server.api(
        "POST",
        "/api/orders/",
        server.demo_token,
        {"symbol": "AAPL", "side": "buy", "type": "market", "qty": 15, "time_in_force": "day"},
    )


def test_monitor_page_prices_depth_and_order_ticket(monitor_server: LiveServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    seed_book(monitor_server)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.on(
            "response",
            lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )
        try:
            # anonymous: the page works, without the ticket
            page.goto(monitor_server.base + "/web/monitor/")
            expect(page.locator("#login-link")).to_be_visible()
            expect(page.locator("#order-form")).to_have_count(0)

            # log in with the page's own form, come back to the monitor
            page.click("#login-link")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo")
            page.click("#login-submit")
            page.wait_for_url("**/web/monitor/**")
            expect(page.locator("#username")).to_have_text("demo")

            # connect to a ticker (typed, as a user would)
            page.fill("#ticker", "aapl")
            page.click("#connect")
            expect(page.locator("#status-prices")).to_have_class(
                re.compile(r"\bon\b"), timeout=10_000
            )
            expect(page.locator("#status-book")).to_have_class(re.compile(r"\bon\b"))
            expect(page.locator("#status-orders")).to_have_class(re.compile(r"\bon\b"))

            # a price update reaches the chart (the simulated feed ticks twice a second)
            page.wait_for_function(
                "Number(document.getElementById('price-chart').dataset.points) >= 3",
                timeout=15_000,
            )
            expect(page.locator("#last-price")).not_to_have_text("–")

            # the depth chart draws the book (seeded here; the market simulator adds to it)
            page.wait_for_function(
                "Number(document.getElementById('depth-chart').dataset.levels) >= 6",
                timeout=10_000,
            )
            expect(page.locator("#trades tbody tr").first).to_be_visible(timeout=10_000)

            # place an order from the ticket, 3% under the market so that it rests; it shows
            # in the open orders, acknowledged, and its level in the book
            last = float(page.locator("#last-price").inner_text())
            price = f"{last * 0.97:.2f}"
            page.check("input[name=side][value=buy]")
            page.select_option("#order-type", "limit")
            page.fill("#order-qty", "25")
            page.fill("#order-price", price)
            page.click("#place-order")
            row = page.locator("#open-orders tbody tr", has_text=price)
            expect(row).to_have_count(1, timeout=10_000)
            expect(row).to_contain_text("25")
            expect(page.locator("#ticket-status")).to_contain_text("Accepted")
            expect(page.locator("#avg-latency")).to_have_text(re.compile(r"\d+(\.\d)? ms"))
            # another client of the same account (REST) gets an order refused: its report
            # reaches the page, but the ticket's status line stays about the ticket's own order
            monitor_server.api(
                "POST",
                "/api/orders/",
                monitor_server.demo_token,
                {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 1,
                 "limit_price": f"{last * 0.5:.2f}", "time_in_force": "gtc"},
            )  # fmt: skip
            page.wait_for_timeout(1500)
            expect(page.locator("#ticket-status")).to_contain_text("Accepted")
            page.wait_for_function(
                f"(window.monitorState.book.bids.get('{price}') || 0) >= 25", timeout=10_000
            )
            # the dashboard figures arrive from the stats endpoint
            expect(page.locator("#total-trades")).to_have_text(re.compile(r"^\d+$"), timeout=10_000)
            expect(page.locator("#orders-rate")).not_to_have_text("–")
            expect(page.locator("#positions tbody tr", has_text="AAPL")).to_have_count(1)

            page.wait_for_timeout(1500)  # a few more ticks on the chart for the screenshot
            page.screenshot(path=SCREENSHOT, full_page=True)

            # cancel it from the open orders
            row.locator("button.cancel").click()
            expect(row).to_have_count(0, timeout=10_000)
            expect(page.locator("#ticket-status")).to_contain_text("Canceled")

            # a bad order gets the server's validation message, the socket stays up
            page.fill("#order-price", "189.305")
            page.click("#place-order")
            expect(page.locator("#ticket-status")).to_contain_text("tick size")
            expect(page.locator("#status-orders")).to_have_class(re.compile(r"\bon\b"))

            # the account panel shows equity and P&L from /api/portfolio/
            expect(page.locator("#acct-equity")).to_have_text(re.compile(r"^-?\d+\.\d\d$"))
            expect(page.locator("#acct-total-pnl")).to_have_text(re.compile(r"^-?\d+\.\d\d$"))

            # the kill switch: halt, an order is refused with the reason, resume
            page.click("#halt-account")
            expect(page.locator("#halt-status")).to_contain_text("Halted")
            expect(page.locator("#account-status")).to_contain_text("halted")
            expect(page.locator("#resume-account")).to_be_visible()
            page.fill("#order-price", price)
            page.click("#place-order")
            expect(page.locator("#ticket-status")).to_contain_text("ACCOUNT_HALTED")
            page.click("#resume-account")
            expect(page.locator("#halt-status")).to_contain_text("resumed")
            expect(page.locator("#halt-account")).to_be_visible()
            page.click("#place-order")
            expect(page.locator("#ticket-status")).to_contain_text("Accepted")
        except Exception:
            page.screenshot(path=SCREENSHOT.replace(".png", "-failed.png"), full_page=True)
            print(monitor_server.log.read_text()[-4000:])
            raise
        finally:
            browser.close()
    assert not problems, problems
