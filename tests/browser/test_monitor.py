"""The monitor page in a real browser: Debian's chromium, headless, driven by Playwright.

The server is the real thing: `manage.py serve` in a subprocess with a var dir of its own (the
embedded configuration of `make run`: SQLite, in-memory channel layer, the matching worker and
the simulated price feed and market in-process), after migrate + bootstrap_demo. The test seeds
a few resting orders over REST so that the book has depth at once, then logs in as demo, connects to AAPL,
waits for price ticks and the depth chart, places an order from the ticket and sees it in the
open orders, cancels it, and saves a screenshot (MONITOR_SCREENSHOT, default /tmp/monitor.png).
It then switches to an unknown ticker: every figure of the previous one clears and the server's
error shows. A second test feeds the open-orders panel 200 orders of 1,234 (routed in the
browser, no 1,234 real orders) after a first load that fails as while the server is down.
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


def watch_problems(page, problems: list[str], *, ignore_console: str | None = None) -> None:
    """Page errors, console errors (but those matching ignore_console) and HTTP errors."""
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}")
        if msg.type == "error" and not (ignore_console and re.search(ignore_console, msg.text))
        else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
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
        watch_problems(page, problems)
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
            expect(page.locator("#ticket-status")).to_have_text("")  # the refusal is history
            page.click("#place-order")
            expect(page.locator("#ticket-status")).to_contain_text("Accepted")

            # switching to an unknown ticker: nothing of AAPL's stays to read as NOPE's, and the
            # server's error (an error frame, then close 4404, no reconnecting) shows
            expect(page.locator("#moving-average")).to_have_text(re.compile(r"^\d"))
            expect(page.locator("#best-quote")).to_have_text(
                re.compile(r"bid \d.* ask \d"), timeout=10_000
            )
            page.fill("#ticker", "nope")
            page.click("#connect")
            expect(page.locator("#ticker-error")).to_be_visible(timeout=10_000)
            expect(page.locator("#ticker-error")).to_contain_text("NOPE")
            expect(page.locator("#ticker-error")).to_contain_text("unknown")
            expect(page.locator("#status-prices")).to_have_attribute("title", "closed (4404)")
            expect(page.locator("#status-book")).to_have_attribute("title", "closed (4404)")
            for figure in ("#last-price", "#moving-average", "#change-1m"):
                expect(page.locator(figure)).to_have_text("–")
            expect(page.locator("#best-quote")).to_have_text("bid – / ask –")
            expect(page.locator("#ticket-status")).to_have_text("")
            expect(page.locator("#ticket-symbol")).to_have_text("NOPE")
            expect(page.locator("#trades tbody tr")).to_have_count(0)
            expect(page.locator("#alerts li")).to_have_text(["No alerts yet."])
            expect(page.locator("#price-chart")).to_have_attribute("data-points", "0")
            expect(page.locator("#depth-chart")).to_have_attribute("data-levels", "0")
            assert page.evaluate(
                "Chart.getChart('price-chart').data.datasets.every((d) => d.data.length === 0)"
            )
            # the empty chart's x axis has no labels (not 00:00:00 six times)
            assert page.evaluate(
                "Chart.getChart('price-chart').scales.x.ticks.every((t) => !t.label)"
            )
            page.wait_for_timeout(1000)  # no reconnecting to an unknown ticker
            expect(page.locator("#status-prices")).to_have_class(re.compile(r"\boff\b"))
            expect(page.locator("#ticker-error")).to_be_visible()
            # and back to a listed one: the error goes
            page.fill("#ticker", "AAPL")
            page.click("#connect")
            expect(page.locator("#ticker-error")).to_be_hidden()
            expect(page.locator("#status-prices")).to_have_class(
                re.compile(r"\bon\b"), timeout=10_000
            )
        except Exception:
            page.screenshot(path=SCREENSHOT.replace(".png", "-failed.png"), full_page=True)
            print(monitor_server.log.read_text()[-4000:])
            raise
        finally:
            browser.close()
    assert not problems, problems


def login(page, base: str) -> None:
    page.goto(base + "/web/login/?next=/web/monitor/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo")
    page.click("#login-submit")
    page.wait_for_url("**/web/monitor/**")


def test_open_orders_count_scroll_box_and_server_down(monitor_server: LiveServer) -> None:
    """More open orders than one page: a count and a scrolling box of bounded height. The list
    is routed in the browser (200 of 1,234), after a first load that fails as while the server
    is down: no uncaught "Failed to fetch"."""
    from playwright.sync_api import expect, sync_playwright

    total = 1234
    fake = {
        "count": total,
        "next": "/api/orders/?page=2&page_size=200&status=open",
        "previous": None,
        "results": [
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "client_order_id": f"fake-{i}",
                "symbol": "AAPL",
                "side": "buy",
                "type": "limit",
                "qty": "1",
                "filled_qty": "0",
                "limit_price": f"{100 + i / 100:.2f}",
                "status": "new",
            }
            for i in range(200)
        ],
    }
    mode = {"orders": "down"}
    calls: list[str] = []

    def orders_route(route) -> None:
        calls.append(mode["orders"])
        if mode["orders"] == "down":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(fake))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1440, "height": 1100})
        problems: list[str] = []
        # the refused requests are logged by chromium itself ("Failed to load resource")
        watch_problems(page, problems, ignore_console=r"Failed to load resource: net::ERR_")
        page.route(re.compile(r"/api/orders/\?status=open"), orders_route)
        try:
            login(page, monitor_server.base)
            expect(page.locator("#status-orders")).to_have_class(
                re.compile(r"\bon\b"), timeout=10_000
            )
            page.wait_for_function("document.getElementById('open-orders-count') !== null")
            deadline = time.monotonic() + 10
            while "down" not in calls and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            assert calls and calls[0] == "down", calls
            page.wait_for_timeout(300)  # the rejected fetch settles (uncaught, it was a page error)
            assert not problems, problems

            # the orders socket reconnects (a server restart): the list loads, one page of it
            mode["orders"] = "up"
            page.evaluate("window.monitorState.ordersStream.ws.close()")
            expect(page.locator("#open-orders tbody tr")).to_have_count(200, timeout=10_000)
            expect(page.locator("#open-orders-count")).to_have_text("showing 200 of 1,234")

            box = page.locator("#open-orders-box")
            height = box.bounding_box()["height"]
            assert height <= 400, height
            scroll = page.evaluate(
                "(() => { const b = document.getElementById('open-orders-box');"
                " return [b.scrollHeight, b.clientHeight, getComputedStyle(b).overflowY]; })()"
            )
            assert scroll[0] > scroll[1] * 3 and scroll[2] == "auto", scroll
            # the page stays short: the account panel is not pushed out of reach
            page_height = page.evaluate("document.documentElement.scrollHeight")
            assert page_height < 2000, page_height
            account = page.locator("#account-panel").bounding_box()
            assert account["y"] < 1600, account
            # the header stays in view while the list scrolls
            box.evaluate("b => { b.scrollTop = b.scrollHeight; }")
            expect(page.locator("#open-orders thead th").first).to_be_in_viewport()
        except Exception:
            page.screenshot(path=SCREENSHOT.replace(".png", "-orders-failed.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert not problems, problems
