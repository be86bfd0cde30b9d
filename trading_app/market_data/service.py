"""Running a feed: build providers from settings, then fetch → validate → publish until stopped.

Used by `manage.py run_feed` (its own process, needs REDIS_URL to reach other processes) and by
`manage.py serve` through `run_feed_service` (settings.EXTRA_BACKGROUND_SERVICES), which runs in
Daphne's event loop: everything here awaits, and the blocking calls (ORM, yfinance) go to threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.conf import settings

from trading_app.market_data.base import MarketDataProvider
from trading_app.market_data.exchange import ExchangeProvider
from trading_app.market_data.failover import FailoverFeed
from trading_app.market_data.publisher import TickPublisher
from trading_app.market_data.simulated import SeedInstrument, SimulatedFeed
from trading_app.market_data.validation import TickValidator
from trading_app.money import format_price

log = logging.getLogger("tradingsim.feed")

PROVIDER_NAMES = ("simulated", "yfinance", "exchange")


@dataclass
class FeedOptions:
    """Every knob of a feed; `from_settings` reads the FEED_* / YFINANCE_* settings."""

    providers: list[str] = field(default_factory=lambda: ["simulated"])
    symbols: list[str] | None = None  # None: every active instrument
    rate: float = 2.0
    seed: int | str = 0
    volatility: float = 0.6
    jumps_per_minute: float = 0.5
    jump_size: float = 0.03
    yfinance_interval: float = 15.0
    yfinance_timeout: float = 10.0
    cache_ttl: int = 5
    history_ttl: int = 3600
    exchange_interval: float = 0.5
    stale_after: float = 30.0
    retry_after: float = 30.0
    max_jump_pct: Decimal = Decimal("20")

    @classmethod
    def from_settings(cls, **overrides: object) -> FeedOptions:
        values = {
            "providers": list(getattr(settings, "MARKET_DATA_PROVIDERS", ["simulated"])),
            "symbols": list(getattr(settings, "FEED_SYMBOLS", [])) or None,
            "rate": getattr(settings, "FEED_TICK_RATE", 2.0),
            "seed": getattr(settings, "FEED_SEED", 0),
            "volatility": getattr(settings, "FEED_VOLATILITY", 0.6),
            "jumps_per_minute": getattr(settings, "FEED_JUMPS_PER_MINUTE", 0.5),
            "jump_size": getattr(settings, "FEED_JUMP_SIZE", 0.03),
            "yfinance_interval": getattr(settings, "YFINANCE_POLL_SECONDS", 15.0),
            "yfinance_timeout": getattr(settings, "YFINANCE_TIMEOUT_SECONDS", 10.0),
            "cache_ttl": getattr(settings, "MARKET_DATA_CACHE_TTL", 5),
            "history_ttl": getattr(settings, "MARKET_DATA_HISTORY_TTL", 3600),
            "stale_after": getattr(settings, "FEED_STALE_SECONDS", 30.0),
            "retry_after": getattr(settings, "FEED_RETRY_SECONDS", 30.0),
            "max_jump_pct": getattr(settings, "FEED_MAX_JUMP_PCT", Decimal("20")),
        }
        known = {f.name for f in fields(cls)}
        values.update({k: v for k, v in overrides.items() if k in known and v is not None})
        return cls(**values)


def load_instruments(symbols: Sequence[str] | None = None) -> dict[str, SeedInstrument]:
    """Active instruments (or the named ones) with their start price and tick size (sync ORM).

    The start price is the exchange's last trade (`Instrument.last_price`, written with every
    batch of fills and the price the matching worker recovers its books with), else the
    reference price for a symbol that never traded: after a restart the feed carries on from
    the market, not from the opening reference. The market simulator seeds the same way
    (`algo_trading.django_adapters.instruments.load_specs`)."""
    from trading_app.models import Instrument

    if symbols:
        rows = Instrument.objects.filter(symbol__in=[s.upper() for s in symbols])
    else:
        rows = Instrument.objects.filter(active=True)
    return {
        row.symbol: SeedInstrument(reference_price=row.mark_price, tick_size=row.tick_size)
        for row in rows
    }


def build_provider(
    name: str, instruments: dict[str, SeedInstrument], options: FeedOptions
) -> MarketDataProvider:
    if name == "simulated":
        return SimulatedFeed(
            instruments,
            seed=options.seed,
            volatility=options.volatility,
            jumps_per_minute=options.jumps_per_minute,
            jump_size=options.jump_size,
            rate=options.rate,
        )
    if name == "yfinance":
        from trading_app.market_data.yahoo import YFinanceProvider

        return YFinanceProvider(
            interval=options.yfinance_interval,
            timeout=options.yfinance_timeout,
            cache_ttl=options.cache_ttl,
            history_ttl=options.history_ttl,
        )
    if name == "exchange":
        return ExchangeProvider(interval=options.exchange_interval)
    raise ValueError(f"unknown market data provider {name!r} (choose from {PROVIDER_NAMES})")


def build_feed(options: FeedOptions, instruments: dict[str, SeedInstrument]) -> FailoverFeed:
    providers = [build_provider(name, instruments, options) for name in options.providers]
    return FailoverFeed(providers, stale_after=options.stale_after, retry_after=options.retry_after)


def build_publisher(options: FeedOptions, instruments: dict[str, SeedInstrument]) -> TickPublisher:
    return TickPublisher(
        {symbol: spec.tick_size for symbol, spec in instruments.items()},
        validator=TickValidator(options.max_jump_pct),
    )


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def progress_line(feed: FailoverFeed, publisher: TickPublisher) -> str:
    prices = ", ".join(f"{s} {format_price(t.price)}" for s, t in sorted(publisher.last.items()))
    counters = publisher.validator.counters()
    return (
        f"{time.strftime('%H:%M:%S')} source={feed.active_name or 'none'} "
        f"published={publisher.published} dropped={counters['dropped_total']} | {prices}"
    )


def summary_line(feed: FailoverFeed, publisher: TickPublisher) -> str:
    counters = publisher.counters()
    return (
        f"published {counters['published']} ticks, dropped {counters['dropped_total']} "
        f"{counters['dropped']}, source {feed.active_name or 'none'}, "
        f"switches {feed.switch_count}"
    )


async def run_feed(
    stop: asyncio.Event,
    feed: FailoverFeed,
    publisher: TickPublisher,
    symbols: Sequence[str],
    *,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 5.0,
    status_every: float = 5.0,
    duration: float | None = None,
) -> None:
    """Fetch, publish, report switches, pace by the active provider, until `stop` (or duration)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    next_progress = started + progress_every
    next_status = started + status_every
    symbols = list(symbols)
    try:
        while not stop.is_set():
            began = loop.time()
            if duration is not None and began - started >= duration:
                break
            try:
                ticks = await feed.fetch(symbols)
                feed.follow(await publisher.publish(ticks))
                switches = feed.pop_switches()
                for switch in switches:
                    await publisher.publish_status(switch, symbols)
                if began >= next_status and not switches:
                    await publisher.store_status(feed.status())
                    next_status = began + status_every
            except Exception:  # a cache or channel layer hiccup must not end the feed
                log.exception("price feed iteration failed; continuing")
            if progress is not None and began >= next_progress:
                progress(progress_line(feed, publisher))
                next_progress = began + progress_every
            await _pause(stop, feed.interval - (loop.time() - began))
    finally:
        await feed.aclose()
        try:
            await publisher.store_status(feed.status())
        except Exception:
            log.exception("could not store the final feed status")


async def run_feed_service(stop: asyncio.Event) -> None:
    """`manage.py serve`'s price feed: the settings' providers over the active instruments."""
    from asgiref.sync import sync_to_async

    options = FeedOptions.from_settings()
    instruments = await sync_to_async(load_instruments)(options.symbols)
    if not instruments:
        log.warning("price feed: no active instruments (run manage.py bootstrap_demo); not started")
        return
    symbols = options.symbols or sorted(instruments)
    feed = build_feed(options, instruments)
    publisher = build_publisher(options, instruments)
    log.info("price feed: %s for %s", " -> ".join(options.providers), ", ".join(symbols))
    await run_feed(stop, feed, publisher, symbols, progress=log.info, progress_every=300.0)
