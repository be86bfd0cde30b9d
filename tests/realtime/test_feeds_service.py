"""The feed end to end: run_feed into the channel layer and cache, the command, the serve service,
and `POST /api/market-data/` reading what the feed and the worker cached.

The channel layer is the configured one: in-memory in the embedded run, channels-redis when
REDIS_URL is set (scripts/run_tests.py).
"""

import asyncio
import os
import signal
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from unittest import mock

import pandas as pd
import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils.module_loading import import_string

from trading_app.background import background_services
from trading_app.market_data.failover import FailoverFeed
from trading_app.market_data.publisher import TickPublisher
from trading_app.market_data.service import run_feed, run_feed_service
from trading_app.market_data.simulated import SeedInstrument, SimulatedFeed
from trading_app.market_data.yahoo import YFinanceProvider
from trading_app.services.market_data import (
    FEED_STATUS_KEY,
    feed_quote_key,
    publish_quote,
    quote_key,
)

SYMBOLS = ["AAPL", "MSFT", "GOOG", "TSLA", "AMZN", "SPY"]
SEEDS = {
    "AAPL": SeedInstrument(Decimal("190.00"), Decimal("0.01")),
    "MSFT": SeedInstrument(Decimal("420.00"), Decimal("0.01")),
}


@pytest.fixture(autouse=True)
def clean_cache():
    keys = [feed_quote_key(s) for s in SYMBOLS] + [quote_key(s) for s in SYMBOLS]
    keys += [FEED_STATUS_KEY, "yf:quote:AAPL", "yf:quote:MSFT"]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
async def layer():
    """A fresh channel layer for this test's event loop."""
    from channels.layers import channel_layers, get_channel_layer

    channel_layers.backends.clear()
    current = get_channel_layer()
    yield current
    await current.flush()
    channel_layers.backends.clear()
    # The ORM ran in sync_to_async's thread: close its connection, or PostgreSQL cannot drop
    # the test database at the end of the session.
    await sync_to_async(connections.close_all)()


async def drain(layer, channel, timeout=0.3):
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout))
        except TimeoutError:
            return messages


async def test_run_feed_publishes_contract_ticks_to_the_prices_groups(layer):
    channel = await layer.new_channel()
    await layer.group_add("prices.AAPL", channel)
    feed = FailoverFeed([SimulatedFeed(SEEDS, seed=5, rate=10)])
    publisher = TickPublisher({s: v.tick_size for s, v in SEEDS.items()})
    lines = []
    started = time.monotonic()
    await run_feed(
        asyncio.Event(),
        feed,
        publisher,
        ["AAPL", "MSFT"],
        progress=lines.append,
        progress_every=0.2,
        duration=0.6,
    )
    assert time.monotonic() - started < 2
    messages = await drain(layer, channel)
    ticks = [m for m in messages if m["type"] == "price.tick"]
    assert 4 <= len(ticks) <= 8
    for message in ticks:
        assert set(message) == {"type", "symbol", "price", "timestamp", "volume", "source"}
        assert message["symbol"] == "AAPL" and message["source"] == "simulated"
        assert isinstance(message["price"], str)
        assert Decimal(message["price"]) == Decimal(message["price"]).quantize(Decimal("0.01"))
        assert datetime.fromisoformat(message["timestamp"]).tzinfo is not None
    (status,) = [m for m in messages if m["type"] == "feed.status"]
    assert (status["provider"], status["reason"]) == ("simulated", "start")
    quote = await cache.aget(feed_quote_key("MSFT"))
    assert quote["source"] == "simulated" and quote["volume"] > 0
    assert (await cache.aget(FEED_STATUS_KEY))["published"] == publisher.published
    assert lines and "source=simulated" in lines[0] and "AAPL 1" in lines[0]


async def test_run_feed_fails_over_from_an_offline_yfinance_and_says_so(layer):
    """Network call mocked: yfinance.download returns the empty frame it returns offline."""
    channel = await layer.new_channel()
    await layer.group_add("prices.AAPL", channel)
    feed = FailoverFeed(
        [YFinanceProvider(timeout=1), SimulatedFeed(SEEDS, seed=5, rate=10)], retry_after=60
    )
    publisher = TickPublisher({"AAPL": Decimal("0.01")})
    with mock.patch("yfinance.download", return_value=pd.DataFrame()):
        await run_feed(asyncio.Event(), feed, publisher, ["AAPL"], duration=0.4)
    messages = await drain(layer, channel)
    assert {m["source"] for m in messages if m["type"] == "price.tick"} == {"simulated"}
    (status,) = [m for m in messages if m["type"] == "feed.status"]
    assert status["provider"] == "simulated"
    yahoo = status["providers"][0]
    assert (yahoo["name"], yahoo["state"]) == ("yfinance", "down")
    assert "no data for AAPL" in yahoo["error"]


async def test_run_feed_stops_promptly_when_asked(layer):
    stop = asyncio.Event()
    feed = FailoverFeed([SimulatedFeed(SEEDS, rate=0.2)])  # a 5 s pause between rounds
    task = asyncio.create_task(run_feed(stop, feed, TickPublisher({}), ["AAPL"]))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 1)


@pytest.mark.django_db
def test_run_feed_command_runs_for_a_bounded_time_and_fills_the_cache(instruments):
    out = StringIO()
    started = time.monotonic()
    call_command(
        "run_feed",
        "--symbols",
        "aapl,MSFT",
        "--rate",
        "5",
        "--seed",
        "7",
        "--duration",
        "1",
        "--progress-every",
        "0.4",
        stdout=out,
        stderr=StringIO(),
    )
    assert time.monotonic() - started < 5
    text = out.getvalue()
    assert "price feed: simulated for AAPL, MSFT (rate 5/s, seed 7)" in text
    assert "source=simulated" in text
    assert "price feed stopped" in text
    assert cache.get(feed_quote_key("AAPL"))["source"] == "simulated"
    assert cache.get(feed_quote_key("GOOG")) is None
    assert cache.get(FEED_STATUS_KEY)["accepted"] >= 8


@pytest.mark.django_db
def test_run_feed_command_stops_cleanly_on_sigterm(instruments):
    out = StringIO()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    try:
        call_command("run_feed", "--symbols", "AAPL", "--duration", "20", stdout=out)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3
    assert "price feed stopped" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--provider", "bloomberg"], "unknown provider 'bloomberg'"),
        (["--symbols", "AAPL,NOPE"], "unknown symbols: NOPE"),
        (["--rate", "0"], "--rate must be positive"),
    ],
)
def test_run_feed_command_rejects_bad_arguments(instruments, args, error):
    with pytest.raises(CommandError, match=error):
        call_command("run_feed", *args, "--duration", "0.1", stdout=StringIO())


def test_serve_runs_the_feed_as_a_background_service():
    services = dict(background_services())
    assert services["price feed"] == "trading_app.market_data.service.run_feed_service"
    assert import_string(services["price feed"]) is run_feed_service


@pytest.mark.django_db(transaction=True)
async def test_run_feed_service_publishes_the_active_instruments_until_stopped(layer, settings):
    from trading_app.selectors.instruments import invalidate_instrument_cache
    from trading_app.services.instruments import load_demo_instruments

    await sync_to_async(load_demo_instruments)()
    invalidate_instrument_cache()
    settings.FEED_TICK_RATE = 20
    settings.MARKET_DATA_PROVIDERS = ["simulated"]
    channel = await layer.new_channel()
    await layer.group_add("prices.TSLA", channel)
    stop = asyncio.Event()
    task = asyncio.create_task(run_feed_service(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 2)
    ticks = [m for m in await drain(layer, channel) if m["type"] == "price.tick"]
    assert len(ticks) >= 3
    assert all(m["symbol"] == "TSLA" for m in ticks)
    quotes = await cache.aget_many([feed_quote_key(s) for s in SYMBOLS])
    assert len(quotes) == len(SYMBOLS)


# --------------------------------------------------------------------------------- REST


def feed_quote(symbol, price, source="simulated", bid=None, ask=None):
    return {
        "symbol": symbol,
        "price": price,
        "bid": bid,
        "ask": ask,
        "volume": 1234,
        "timestamp": datetime(2025, 1, 20, 14, 30, tzinfo=UTC).isoformat(),
        "source": source,
    }


@pytest.mark.django_db
def test_market_data_api_prefers_the_exchange_then_the_feed_then_the_reference(alice_client):
    cache.set(feed_quote_key("AAPL"), feed_quote("AAPL", "191.25"))
    cache.set(feed_quote_key("MSFT"), feed_quote("MSFT", "421.00"))
    publish_quote("MSFT", {**feed_quote("MSFT", "420.50", "exchange", "420.49", "420.51")})
    # The exchange's book has orders for GOOG but no trade yet: the feed prices it.
    cache.set(feed_quote_key("GOOG"), feed_quote("GOOG", "170.10"))
    publish_quote("GOOG", {**feed_quote("GOOG", None, "exchange", "170.00", "170.20")})

    response = alice_client.post(
        "/api/market-data/", {"symbols": ["aapl", "MSFT", "GOOG", "TSLA", "ZZZZ"]}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["AAPL"] == feed_quote("AAPL", "191.25")
    assert (data["MSFT"]["price"], data["MSFT"]["source"]) == ("420.50", "exchange")
    assert (data["GOOG"]["price"], data["GOOG"]["source"]) == ("170.10", "simulated")
    assert (data["GOOG"]["bid"], data["GOOG"]["ask"]) == ("170.00", "170.20")
    assert (data["TSLA"]["price"], data["TSLA"]["source"]) == ("250.00", "reference")
    assert set(data["TSLA"]) == {"symbol", "price", "bid", "ask", "volume", "timestamp", "source"}
    assert "unknown symbol" in data["ZZZZ"]["error"]


@pytest.mark.django_db
def test_market_data_api_never_calls_a_provider(alice_client):
    """yfinance.download would fail the test if anything reached for the network."""
    with mock.patch("yfinance.download", side_effect=AssertionError("network")):
        response = alice_client.post("/api/market-data/", {"symbols": ["AAPL"]}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["AAPL"]["source"] == "reference"
