"""Failover between providers, tick validation and the publisher's bookkeeping.

Providers here are scripted fakes and the clock is a variable: staleness and retry timing are
checked without sleeping.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading_app.market_data import MarketDataProvider, ProviderError, Tick
from trading_app.market_data.failover import FailoverFeed
from trading_app.market_data.publisher import TickPublisher
from trading_app.market_data.validation import TickValidator

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def tick(price, seconds=0, source="primary", symbol="AAPL"):
    return Tick(symbol, Decimal(price), T0 + timedelta(seconds=seconds), source, volume=10)


class Scripted(MarketDataProvider):
    """Answers from a mutable mode: "ok" (a tick), "quiet" (no tick), "error" (raises)."""

    def __init__(self, name, mode="ok", interval=0.5):
        self.name = name
        self.mode = mode
        self.interval = interval
        self.calls = 0

    async def fetch(self, symbols):
        self.calls += 1
        if self.mode == "error":
            raise ProviderError(f"{self.name} unreachable")
        if self.mode == "quiet":
            return []
        return [tick("190.00", self.calls, source=self.name)]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def make_feed(clock, *providers, stale_after=10.0, retry_after=30.0):
    return FailoverFeed(providers, stale_after=stale_after, retry_after=retry_after, clock=clock)


async def settle():
    """Let background probe tasks finish."""
    for _ in range(3):
        await asyncio.sleep(0)


# --------------------------------------------------------------------------------- failover


async def test_primary_answers_while_healthy(clock):
    primary, backup = Scripted("primary"), Scripted("backup")
    feed = make_feed(clock, primary, backup)
    ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["primary"]
    assert feed.active_name == "primary"
    assert backup.calls == 0
    (start,) = feed.pop_switches()
    assert (start["provider"], start["previous"], start["reason"]) == ("primary", None, "start")
    assert feed.switch_count == 0


async def test_primary_error_fails_over_with_a_logged_and_reported_switch(clock, caplog):
    primary, backup = Scripted("primary"), Scripted("backup")
    feed = make_feed(clock, primary, backup)
    await feed.fetch(["AAPL"])
    feed.pop_switches()

    primary.mode = "error"
    with caplog.at_level(logging.WARNING, logger="tradingsim.feed"):
        ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["backup"]
    assert feed.active_name == "backup"
    (switch,) = feed.pop_switches()
    assert switch["type"] == "feed.status"
    assert (switch["provider"], switch["previous"]) == ("backup", "primary")
    assert "primary unreachable" in switch["reason"]
    states = {p["name"]: p["state"] for p in switch["providers"]}
    assert states == {"primary": "down", "backup": "up"}
    assert "switched from primary to backup" in caplog.text
    assert "primary is down (primary unreachable)" in caplog.text

    # Within the retry delay the primary is left alone.
    calls = primary.calls
    clock.now += 5
    await feed.fetch(["AAPL"])
    await settle()
    assert primary.calls == calls


async def test_primary_down_at_start_uses_the_backup(clock):
    feed = make_feed(clock, Scripted("primary", mode="error"), Scripted("backup"))
    ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["backup"]
    status = feed.status()
    assert status["active"] == "backup"
    assert status["providers"][0]["error"] == "primary unreachable"


async def test_stale_primary_is_skipped_after_the_stale_delay(clock):
    primary, backup = Scripted("primary"), Scripted("backup")
    feed = make_feed(clock, primary, backup, stale_after=10)
    await feed.fetch(["AAPL"])
    primary.mode = "quiet"
    clock.now += 5
    assert await feed.fetch(["AAPL"]) == []  # quiet, not yet stale
    assert feed.active_name == "primary"
    clock.now += 6
    ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["backup"]
    switch = feed.pop_switches()[-1]
    assert switch["reason"].startswith("stale: no new tick for 11s")


async def test_recovered_primary_takes_over_again(clock, caplog):
    primary, backup = Scripted("primary", mode="error"), Scripted("backup")
    feed = make_feed(clock, primary, backup, retry_after=30)
    await feed.fetch(["AAPL"])
    assert feed.active_name == "backup"
    feed.pop_switches()

    primary.mode = "ok"
    clock.now += 31  # retry due: probed in the background, backup still answers this round
    ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["backup"]
    await settle()
    with caplog.at_level(logging.WARNING, logger="tradingsim.feed"):
        ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["primary"]  # the probe's ticks
    assert feed.active_name == "primary"
    (switch,) = feed.pop_switches()
    assert (switch["provider"], switch["previous"], switch["reason"]) == (
        "primary",
        "backup",
        "primary recovered",
    )
    assert "switched from backup to primary: primary recovered" in caplog.text


async def test_failed_probe_keeps_the_backup_and_waits_again(clock):
    primary, backup = Scripted("primary", mode="error"), Scripted("backup")
    feed = make_feed(clock, primary, backup, retry_after=30)
    await feed.fetch(["AAPL"])
    clock.now += 31
    await feed.fetch(["AAPL"])
    await settle()
    await feed.fetch(["AAPL"])
    assert feed.active_name == "backup"
    assert primary.calls == 2
    assert feed.status()["providers"][0]["failures"] == 2
    clock.now += 10
    await feed.fetch(["AAPL"])
    await settle()
    assert primary.calls == 2  # next probe only after another retry delay


async def test_every_provider_down_reports_none_then_recovers(clock):
    primary, backup = Scripted("primary"), Scripted("backup", mode="error")
    feed = make_feed(clock, primary, backup, retry_after=30)
    await feed.fetch(["AAPL"])
    primary.mode = "error"
    assert await feed.fetch(["AAPL"]) == []
    assert feed.active_name is None
    switch = feed.pop_switches()[-1]
    assert (switch["provider"], switch["reason"]) == (None, "every provider is down")

    clock.now += 5
    assert await feed.fetch(["AAPL"]) == []  # nobody retried before the delay
    backup.mode = "ok"
    clock.now += 30
    ticks = await feed.fetch(["AAPL"])
    assert [t.source for t in ticks] == ["backup"]  # primary retried too, still failing
    assert feed.active_name == "backup"
    assert feed.pop_switches()[-1]["reason"] == "backup available again"


async def test_interval_follows_the_active_provider(clock):
    feed = make_feed(clock, Scripted("slow", interval=15, mode="error"), Scripted("fast"))
    await feed.fetch(["AAPL"])
    assert feed.interval == 0.5


async def test_aclose_cancels_running_probes(clock):
    class Hanging(Scripted):
        async def fetch(self, symbols):
            self.calls += 1
            if self.calls > 1:
                await asyncio.sleep(3600)
            raise ProviderError("down")

    hanging = Hanging("primary")
    feed = make_feed(clock, hanging, Scripted("backup"))
    await feed.fetch(["AAPL"])
    clock.now += 31
    await feed.fetch(["AAPL"])
    probe = feed.health[0].probe
    assert probe is not None and not probe.done()
    await feed.aclose()
    assert probe.cancelled()


# --------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("0", "non_positive"),
        ("-1.5", "non_positive"),
        ("NaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("sNaN", "not_a_number"),
    ],
)
def test_validator_drops_impossible_prices(price, reason):
    validator = TickValidator()
    assert validator.accept(tick(price)) is False
    assert validator.dropped[reason] == 1
    assert validator.counters()["dropped_total"] == 1
    assert validator.accepted == 0


def test_validator_drops_wild_jumps_and_keeps_the_last_good_price():
    validator = TickValidator(max_jump_pct=Decimal("20"))
    assert validator.accept(tick("100.00", 0))
    assert validator.accept(tick("119.99", 1))  # +19.99%
    assert not validator.accept(tick("150.00", 2))  # +25% from 119.99
    assert not validator.accept(tick("95.00", 3))  # -20.8%
    assert validator.accept(tick("110.00", 4))
    assert validator.dropped["jump"] == 2
    assert validator.accepted == 3


def test_validator_drops_ticks_from_the_past():
    validator = TickValidator()
    assert validator.accept(tick("100", 10))
    assert validator.accept(tick("100.10", 10))  # same instant is fine
    assert not validator.accept(tick("100.20", 9))
    assert validator.dropped["old_timestamp"] == 1


def test_validator_reanchors_when_the_source_changes(caplog):
    validator = TickValidator()
    assert validator.accept(tick("100", 10, source="simulated"))
    # yfinance's real price is far away and its bar time older: accepted as the new anchor.
    with caplog.at_level(logging.INFO, logger="tradingsim.feed"):
        assert validator.accept(tick("180", 0, source="yfinance"))
    assert "now priced by yfinance (was simulated)" in caplog.text
    assert not validator.accept(tick("300", 1, source="yfinance"))


def test_validator_tracks_symbols_separately():
    validator = TickValidator()
    assert validator.accept(tick("100", symbol="AAPL"))
    assert validator.accept(tick("400", symbol="MSFT"))


# --------------------------------------------------------------------------------- publisher


class RecordingLayer:
    def __init__(self):
        self.sent = []

    async def group_send(self, group, message):
        self.sent.append((group, message))


class DictCache:
    def __init__(self):
        self.data = {}

    async def aset_many(self, mapping, timeout=None):
        self.data.update(mapping)

    async def aset(self, key, value, timeout=None):
        self.data[key] = value


async def test_publisher_rounds_validates_sends_and_caches():
    layer, store = RecordingLayer(), DictCache()
    publisher = TickPublisher({"AAPL": Decimal("0.010000")}, layer=layer, cache=store)
    good = Tick("AAPL", Decimal("190.004"), T0, "yfinance", volume=5)
    bad = Tick("AAPL", Decimal("NaN"), T0 + timedelta(seconds=1), "yfinance")
    later = Tick("AAPL", Decimal("190.016"), T0 + timedelta(seconds=2), "yfinance", volume=7)
    accepted = await publisher.publish([good, bad, later])
    assert [t.price for t in accepted] == [Decimal("190.00"), Decimal("190.02")]
    assert [g for g, _ in layer.sent] == ["prices.AAPL", "prices.AAPL"]
    assert layer.sent[0][1] == {
        "type": "price.tick",
        "symbol": "AAPL",
        "price": "190.00",
        "timestamp": T0.isoformat(),
        "volume": 5,
        "source": "yfinance",
    }
    quote = store.data["feed_quote:AAPL"]
    assert (quote["price"], quote["volume"], quote["source"]) == ("190.02", 12, "yfinance")
    counters = publisher.counters()
    assert counters["published"] == 2
    assert counters["dropped"]["not_a_number"] == 1


async def test_publisher_status_goes_to_every_group_with_the_counters():
    layer, store = RecordingLayer(), DictCache()
    publisher = TickPublisher({"AAPL": Decimal("0.01")}, layer=layer, cache=store)
    await publisher.publish([Tick("AAPL", Decimal("-1"), T0, "simulated")])
    switch = {"type": "feed.status", "event": "switch", "provider": "simulated"}
    await publisher.publish_status(switch, ["AAPL", "MSFT"])
    assert [g for g, _ in layer.sent] == ["prices.AAPL", "prices.MSFT"]
    message = layer.sent[0][1]
    assert message["type"] == "feed.status"
    assert message["provider"] == "simulated"
    assert message["dropped"]["non_positive"] == 1
    assert store.data["feed:status"] == message
