"""`manage.py run_feed`: publish a price feed into the channel layer and the quote cache."""

import asyncio
import contextlib
import signal

from django.conf import settings
from django.core.management.base import CommandError

from trading_app.management.base import MigratedDatabaseCommand
from trading_app.market_data.service import (
    PROVIDER_NAMES,
    FeedOptions,
    build_feed,
    build_publisher,
    load_instruments,
    run_feed,
    summary_line,
)


def _names(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


class Command(MigratedDatabaseCommand):
    help = (
        "Publish prices to the channel layer groups prices.<SYMBOL> and the quote cache. "
        "Several providers (comma-separated) fail over in order. SIGTERM or Ctrl-C stops it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--provider",
            help=f"one of {', '.join(PROVIDER_NAMES)}, or several in failover order "
            "(e.g. yfinance,simulated); default settings.MARKET_DATA_PROVIDERS",
        )
        parser.add_argument("--symbols", help="e.g. AAPL,MSFT (default: every active instrument)")
        parser.add_argument("--rate", type=float, help="simulated ticks per second per symbol")
        parser.add_argument("--seed", help="simulated feed seed (same seed, same prices)")
        parser.add_argument("--duration", type=float, help="stop after this many seconds")
        parser.add_argument(
            "--progress-every", type=float, default=5.0, help="seconds between progress lines"
        )

    def handle(self, *args, **opts):
        providers = _names(opts["provider"]) if opts["provider"] else None
        for name in providers or []:
            if name not in PROVIDER_NAMES:
                raise CommandError(f"unknown provider {name!r}: choose from {PROVIDER_NAMES}")
        if opts["rate"] is not None and opts["rate"] <= 0:
            raise CommandError("--rate must be positive")
        seed = opts["seed"]
        options = FeedOptions.from_settings(
            providers=providers,
            symbols=[s.upper() for s in _names(opts["symbols"])] if opts["symbols"] else None,
            rate=opts["rate"],
            seed=int(seed) if seed and seed.lstrip("-").isdigit() else seed,
        )
        instruments = load_instruments(options.symbols)
        if options.symbols:
            unknown = sorted(set(options.symbols) - set(instruments))
            if unknown:
                raise CommandError(f"unknown symbols: {', '.join(unknown)}")
        if not instruments:
            raise CommandError("no active instruments: run `manage.py bootstrap_demo` first")
        symbols = options.symbols or sorted(instruments)
        if "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            self.stderr.write(
                "note: the in-memory channel layer reaches only this process; set REDIS_URL so "
                "that the web server sees these prices (or let `manage.py serve` run the feed)."
            )
        self.stdout.write(
            f"price feed: {' -> '.join(options.providers)} for {', '.join(symbols)} "
            f"(rate {options.rate:g}/s, seed {options.seed})"
        )
        asyncio.run(self._run(options, instruments, symbols, opts))
        self.stdout.write("price feed stopped")

    async def _run(self, options, instruments, symbols, opts) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        feed = build_feed(options, instruments)
        publisher = build_publisher(options, instruments)
        await run_feed(
            stop,
            feed,
            publisher,
            symbols,
            progress=self.stdout.write,
            progress_every=opts["progress_every"],
            duration=opts["duration"],
        )
        self.stdout.write(summary_line(feed, publisher))
