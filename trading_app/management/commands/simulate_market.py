"""`manage.py simulate_market`: agents trading every demo instrument through the real order path."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from django.core.management.base import CommandError

from algo_trading.django_adapters.embedded import (
    NOTE,
    WorkerElsewhere,
    embedded_services,
    ensure_no_worker_elsewhere,
    layer_is_in_memory,
    start_services,
)
from algo_trading.simulator.market import SimulatorConfig
from algo_trading.simulator.service import run_simulator
from trading_app.management.base import MigratedDatabaseCommand


class Command(MigratedDatabaseCommand):
    help = (
        "Drive the instruments with market makers (quoting around the feed's price), noise "
        "traders and momentum traders, each under its own sim_* account, through the matching "
        "worker like any client. Seeded; Ctrl-C stops it and withdraws its orders."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rate", type=float, default=2.0, help="decision rounds per second per symbol"
        )
        parser.add_argument("--seed", default="0", help="same seed, same decisions")
        parser.add_argument("--symbols", help="e.g. AAPL,MSFT (default: every active instrument)")
        parser.add_argument("--market-makers", type=int, default=2)
        parser.add_argument("--noise-traders", type=int, default=2)
        parser.add_argument("--momentum-traders", type=int, default=1)
        parser.add_argument("--cash", default="10000000", help="each agent account's cash")
        parser.add_argument("--duration", type=float, help="stop after this many seconds")
        parser.add_argument("--progress-every", type=float, default=10.0, help="seconds")

    def handle(self, *args, **opts):
        try:
            config = SimulatorConfig(
                rate=opts["rate"],
                seed=opts["seed"],
                market_makers=opts["market_makers"],
                noise_traders=opts["noise_traders"],
                momentum_traders=opts["momentum_traders"],
                cash=opts["cash"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["duration"] is not None and opts["duration"] <= 0:
            raise CommandError("--duration must be positive")
        symbols = (
            [s.strip().upper() for s in opts["symbols"].split(",") if s.strip()]
            if opts["symbols"]
            else None
        )
        if layer_is_in_memory():
            try:
                ensure_no_worker_elsewhere(
                    "`make run` runs the market simulator itself (SIMULATE=1, the default)"
                )
            except WorkerElsewhere as exc:
                raise CommandError(str(exc)) from None
        try:
            asyncio.run(self._run(config, symbols, opts))
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    async def _run(self, config: SimulatorConfig, symbols, opts) -> None:
        loop = asyncio.get_running_loop()
        stop, services_stop = asyncio.Event(), asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if opts["duration"] is not None:
            loop.call_later(opts["duration"], stop.set)
        tasks: list[asyncio.Task] = []
        if layer_is_in_memory():
            self.stderr.write(NOTE.format(extra=" and the price feed", api=""))
            tasks = start_services(embedded_services(simulator=False), services_stop)

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            await run_simulator(
                stop, config, symbols, progress=say, progress_every=opts["progress_every"]
            )
        finally:
            services_stop.set()
            if tasks:
                await asyncio.wait(tasks, timeout=15)
