"""`manage.py run_strategy STRATEGY --account NAME --symbol AAPL`: trade live on our exchange."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from django.core.management.base import CommandError

from algo_trading import registry
from algo_trading.django_adapters.embedded import (
    NOTE,
    WorkerElsewhere,
    embedded_services,
    ensure_no_worker_elsewhere,
    layer_is_in_memory,
    start_services,
)
from algo_trading.django_adapters.runs import LiveConfig, LiveRunner, RunRequestError, create_run
from algo_trading.live.session import SOURCES
from trading_app.management.base import MigratedDatabaseCommand
from trading_app.management.commands.backtest import parse_json_option, parse_pairs


class Command(MigratedDatabaseCommand):
    help = (
        "Run a registered strategy live on tradingSim's exchange under an account: bars from "
        "the exchange's trades and the feed's ticks, orders through the matching worker like "
        "any client. Ctrl-C (or POST /api/strategies/runs/<id>/stop/) stops it."
    )

    def add_arguments(self, parser):
        parser.add_argument("strategy", help=f"one of: {', '.join(registry.names())}")
        parser.add_argument("--account", required=True, help="username of the trading account")
        parser.add_argument("--symbol", required=True, help="e.g. AAPL")
        parser.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
        )
        parser.add_argument("--bar-seconds", type=float, default=5.0, help="bar size (default 5)")
        parser.add_argument(
            "--cash", default="100000", help="cash the strategy may use (its equity base)"
        )
        parser.add_argument("--qty", type=int, help="trade this many shares (fixed sizing)")
        parser.add_argument("--sizing", help='JSON, e.g. {"model": "fraction", "fraction": 0.5}')
        parser.add_argument(
            "--source", default="both", choices=SOURCES, help="bars from trades, ticks or both"
        )
        parser.add_argument(
            "--flatten-on-stop", action="store_true", help="close the position when stopping"
        )
        parser.add_argument("--duration", type=float, help="stop after this many seconds")

    def handle(self, *args, **opts):
        from trading_app.models import Account

        account = (
            Account.objects.select_related("user").filter(user__username=opts["account"]).first()
        )
        if account is None:
            raise CommandError(
                f"no account {opts['account']!r}: create it with "
                f"`manage.py create_account {opts['account']} --password ... --cash 100000`"
            )
        sizing = parse_json_option(opts["sizing"], "--sizing")
        if opts["qty"] is not None:
            if sizing is not None:
                raise CommandError("give --qty or --sizing, not both")
            sizing = {"model": "fixed", "quantity": opts["qty"]}
        config = LiveConfig(
            bar_seconds=opts["bar_seconds"],
            cash=opts["cash"],
            sizing=sizing,
            source=opts["source"],
            flatten_on_stop=opts["flatten_on_stop"],
        )
        if opts["duration"] is not None and opts["duration"] <= 0:
            raise CommandError("--duration must be positive")
        if layer_is_in_memory():
            try:
                ensure_no_worker_elsewhere(
                    "Start the strategy from the server instead (POST /api/strategies/runs/)"
                )
            except WorkerElsewhere as exc:
                raise CommandError(str(exc)) from None
        try:
            run = create_run(
                account,
                opts["strategy"],
                opts["symbol"],
                parse_pairs(opts["param"], "--param"),
                config,
                origin="cli",
            )
        except RunRequestError as exc:
            raise CommandError(f"{exc.field}: {exc}") from None
        self.stdout.write(
            f"strategy run {run.pk}: {run.strategy} {run.params} on {run.symbol} as "
            f"{account.user.username}; orders are client_order_id {run.client_order_prefix}<n>"
        )
        asyncio.run(self._run(run.pk, opts["duration"]))

    async def _run(self, run_id: int, duration: float | None) -> None:
        loop = asyncio.get_running_loop()
        stop, services_stop = asyncio.Event(), asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        tasks: list[asyncio.Task] = []
        if layer_is_in_memory():
            simulate = os.environ.get("SIMULATE", "1") != "0"
            services = embedded_services(simulator=simulate)
            extra = ", the price feed" + (" and the market simulator" if simulate else "")
            self.stderr.write(
                NOTE.format(
                    extra=extra,
                    api=", or start the run from the API: POST /api/strategies/runs/",
                )
            )
            tasks = start_services(services, services_stop)

        def echo(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            await LiveRunner(run_id, echo=echo).run(stop)
        finally:
            services_stop.set()
            if tasks:
                await asyncio.wait(tasks, timeout=15)
