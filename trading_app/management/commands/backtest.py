"""`manage.py backtest STRATEGY ...`: one backtest from the command line, stored like the API's."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

from django.core.management.base import CommandError

from algo_trading import registry
from algo_trading.costs import CostConfigError
from algo_trading.data import DataError, load_csv
from algo_trading.django_adapters.backtests import (
    BacktestRequest,
    commission_spec,
    run_and_store,
    summary_line,
)
from algo_trading.django_adapters.history import select_range, yahoo_bars
from algo_trading.django_adapters.recorded import (
    DEFAULT_BAR_SECONDS,
    ReplayError,
    Window,
    exchange_bars,
    parse_bound,
    replay_info,
)
from algo_trading.params import ParameterError
from algo_trading.registry import UnknownStrategyError
from trading_app.management.base import MigratedDatabaseCommand

DATA_HINT = (
    "pass --data FILE.csv with Date,Open,High,Low,Close,Volume columns "
    "(e.g. --data algo_trading/data/sample_AAPL.csv)"
)


def parse_date(value: str | None, option: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date like 2020-01-01, got {value!r}") from None


def parse_pairs(items: list[str], option: str) -> dict[str, str]:
    """``name=value`` options into a dict (values stay strings: Params coerce them)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{option} must look like name=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def parse_json_option(text: str | None, option: str) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise CommandError(f"{option} must be a JSON object, got {text!r}")
    return value


class Command(MigratedDatabaseCommand):
    help = (
        "Backtest a registered strategy on daily bars (a CSV with --data, else yfinance, cached "
        "under the var dir), or replay the exchange's recorded trades as bars (--replay "
        "exchange); print a summary, write the PNG chart and HTML report, store a "
        "BacktestRun. --json prints {metrics, trades} on stdout."
    )
    migrations_checked_first = False  # argument errors come first

    def add_arguments(self, parser):
        parser.add_argument("strategy", help=f"one of: {', '.join(registry.names())}")
        parser.add_argument("--symbol", help="ticker (default: the --data file's name)")
        parser.add_argument(
            "--start", help="first date, e.g. 2020-01-01 (with --replay: or an ISO date-time)"
        )
        parser.add_argument(
            "--end",
            help="last date, e.g. 2024-12-31 (default today; with --replay: or an ISO "
            "date-time, exclusive)",
        )
        parser.add_argument("--data", help="CSV with Date,Open,High,Low,Close,Volume columns")
        parser.add_argument(
            "--replay",
            choices=("exchange",),
            help="exchange: bars from the trades our exchange recorded for --symbol",
        )
        parser.add_argument(
            "--bar-seconds",
            type=float,
            metavar="S",
            help=f"bar length for --replay (default {DEFAULT_BAR_SECONDS:g})",
        )
        parser.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
        )
        parser.add_argument("--cash", type=float, default=100_000.0, help="starting cash")
        parser.add_argument(
            "--commission", type=float, default=0.0, metavar="PCT", help="percent of notional"
        )
        parser.add_argument("--slippage", help='JSON, e.g. {"model": "bps", "bps": 5}')
        parser.add_argument("--sizing", help='JSON, e.g. {"model": "fixed", "quantity": 100}')
        parser.add_argument("--engine", default="auto", choices=("auto", "event", "vectorised"))
        parser.add_argument("--json", action="store_true", help="print {metrics, trades} JSON")

    def handle(self, *args, **opts):
        as_json = opts["json"]
        out = self.stderr if as_json else self.stdout

        def say(line: str) -> None:
            out.write(line)
            out.flush()

        replay = None
        if opts["replay"]:
            window = self._window(opts)
            start = end = None  # the stored run's dates are its first and last bar's
        else:
            if opts["bar_seconds"] is not None:
                raise CommandError("--bar-seconds applies to --replay exchange only")
            start = parse_date(opts["start"], "--start")
            end = parse_date(opts["end"], "--end")
            if start and end and start > end:
                raise CommandError(f"--start {start} is after --end {end}")
        try:
            registry.create(opts["strategy"], parse_pairs(opts["param"], "--param"))
        except (UnknownStrategyError, ParameterError) as exc:
            raise CommandError(str(exc)) from None
        if opts["replay"]:
            symbol, bars, label, replay = self._replay_bars(opts, window, say)
        else:
            symbol, bars, label = self._bars(opts, start, end, say)
        request = BacktestRequest(
            strategy=opts["strategy"],
            symbol=symbol,
            params=parse_pairs(opts["param"], "--param"),
            start=start,
            end=end,
            cash=opts["cash"],
            commission=commission_spec(opts["commission"]),
            slippage=parse_json_option(opts["slippage"], "--slippage"),
            sizing=parse_json_option(opts["sizing"], "--sizing"),
            engine=opts["engine"],
            data_label=label,
            replay=replay,
        )
        try:
            run, result = run_and_store(request, bars, progress=say)
        except (ParameterError, DataError, CostConfigError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        say(summary_line(result))
        say(f"chart:  {run.chart.path}")
        say(f"report: {run.report.path}")
        say(
            f"stored as BacktestRun #{run.pk} (admin: /admin/trading_app/backtestrun/{run.pk}/change/)"
        )
        if as_json:
            payload = {"metrics": result.metrics, "trades": [t.to_dict() for t in result.trades]}
            sys.stdout.flush()
            self.stdout.write(json.dumps(payload, indent=2, allow_nan=False))

    def _window(self, opts) -> Window:
        if opts["data"]:
            raise CommandError("--replay exchange builds its own bars: drop --data")
        if not opts["symbol"]:
            raise CommandError("--symbol is required with --replay exchange")
        bounds = []
        for option, is_end in (("start", False), ("end", True)):
            try:
                bounds.append(parse_bound(opts[option], is_end=is_end))
            except ValueError:
                raise CommandError(
                    f"--{option} must be a date like 2026-01-02 or a date-time like "
                    f"2026-01-02T14:30:00Z, got {opts[option]!r}"
                ) from None
        window = Window(*bounds)
        if window.start and window.end and window.start >= window.end:
            raise CommandError(f"--start {opts['start']} is not before --end {opts['end']}")
        return window

    def _replay_bars(self, opts, window: Window, say):
        symbol = opts["symbol"].strip().upper()
        seconds = opts["bar_seconds"] if opts["bar_seconds"] is not None else DEFAULT_BAR_SECONDS
        say(f"building {seconds:g}s bars of {symbol} from the exchange's recorded trades")
        try:
            frame, executions = exchange_bars(symbol, seconds, window)
        except (ReplayError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        say(
            f"{len(frame)} bars of {symbol} from {executions} exchange trades, "
            f"{frame.index[0].isoformat()} to {frame.index[-1].isoformat()} UTC"
        )
        return symbol, frame, "exchange", replay_info(seconds, window, executions)

    def _bars(self, opts, start, end, say):
        if opts["data"]:
            path = Path(opts["data"])
            symbol = (opts["symbol"] or path.stem).upper()
            say(f"loading bars from {path}")
            try:
                frame = select_range(load_csv(path), start, end)
            except DataError as exc:
                raise CommandError(str(exc)) from None
            label = path.name
        else:
            if not opts["symbol"]:
                raise CommandError(f"--symbol is required to download bars; or {DATA_HINT}")
            symbol = opts["symbol"].upper()
            end = end or date.today()
            start = start or end - timedelta(days=5 * 365)
            say(f"downloading daily bars of {symbol} {start} to {end} from Yahoo Finance")
            try:
                frame = select_range(yahoo_bars(symbol, start, end, hint=DATA_HINT), start, end)
            except DataError as exc:
                raise CommandError(str(exc)) from None
            label = "yfinance"
        say(f"{len(frame)} bars of {symbol}, {frame.index[0].date()} to {frame.index[-1].date()}")
        return symbol, frame, label
