"""`manage.py sweep STRATEGY --grid name=v1,v2 ...`: a parameter grid on every core, ranked."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from algo_trading import registry
from algo_trading.costs import CostConfigError
from algo_trading.data import DataError, load_csv
from algo_trading.django_adapters.backtests import commission_spec
from algo_trading.django_adapters.history import select_range, yahoo_bars
from algo_trading.metrics import METRIC_KEYS
from algo_trading.params import ParameterError
from algo_trading.registry import UnknownStrategyError
from algo_trading.sweep import SweepResult, run_sweep
from trading_app.management.commands.backtest import (
    DATA_HINT,
    parse_date,
    parse_json_option,
    parse_pairs,
)

TABLE_METRICS = ("total_return_pct", "sharpe", "max_drawdown_pct", "num_trades", "win_rate_pct")


def ranked_table(result: SweepResult, top: int) -> list[str]:
    """Fixed-width rows: rank, the swept parameters, the ranking metric, a few others."""
    rows = result.rows[:top]
    if not rows:
        return ["(no valid parameter combination)"]
    names = list(rows[0]["params"])
    metrics = [result.metric] + [m for m in TABLE_METRICS if m != result.metric]
    head = ["rank", *names, *metrics]
    body = [
        [
            str(k),
            *(str(r["params"][n]) for n in names),
            *(_cell(r["metrics"].get(m)) for m in metrics),
        ]
        for k, r in enumerate(rows, 1)
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    return [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in [head, *body]
    ]


def _cell(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


class ProgressLines:
    """run_sweep's progress stream, minus its closing summary: the command prints that last,
    under the table, on stdout."""

    def __init__(self, target, summary_prefix: str) -> None:
        self.target = target
        self.prefix = summary_prefix
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            if not line.startswith(self.prefix):
                self.target.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return False


class Command(BaseCommand):
    help = (
        "Backtest every combination of a parameter grid on all cores and rank them by a metric, "
        "e.g. sweep ma_crossover --data bars.csv --grid fast=5,10,20 --grid slow=50,100"
    )

    def add_arguments(self, parser):
        parser.add_argument("strategy", help=f"one of: {', '.join(registry.names())}")
        parser.add_argument("--data", help="CSV with Date,Open,High,Low,Close,Volume columns")
        parser.add_argument("--symbol", help="ticker to download when there is no --data")
        parser.add_argument("--start", help="first date, e.g. 2020-01-01")
        parser.add_argument("--end", help="last date")
        parser.add_argument(
            "--grid", action="append", default=[], metavar="NAME=V1,V2,...", help="repeatable"
        )
        parser.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE", help="fixed values"
        )
        parser.add_argument("--metric", default="sharpe", help=f"one of {', '.join(METRIC_KEYS)}")
        parser.add_argument("--workers", type=int, help="processes (default: every core)")
        parser.add_argument("--top", type=int, default=10, help="rows of the table to print")
        parser.add_argument("--cash", type=float, default=100_000.0)
        parser.add_argument("--commission", type=float, default=0.0, metavar="PCT")
        parser.add_argument("--sizing", help='JSON, e.g. {"model": "fixed", "quantity": 100}')
        parser.add_argument("--json", action="store_true", help="print every row as JSON")

    def handle(self, *args, **opts):
        grid = {
            key: [v.strip() for v in values.split(",") if v.strip()]
            for key, values in parse_pairs(opts["grid"], "--grid").items()
        }
        if not grid:
            raise CommandError("give at least one --grid name=v1,v2,...")
        fixed = parse_pairs(opts["param"], "--param")
        for key, value in fixed.items():
            grid.setdefault(key, [value])
        if opts["metric"] not in METRIC_KEYS:
            raise CommandError(f"--metric must be one of {', '.join(METRIC_KEYS)}")
        if opts["workers"] is not None and opts["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        bars = self._bars(opts)
        (self.stderr if opts["json"] else self.stdout).write(
            f"sweeping {opts['strategy']} over {len(bars)} bars: "
            + ", ".join(f"{k}={','.join(v)}" for k, v in grid.items())
        )
        try:
            result = run_sweep(
                opts["strategy"],
                bars,
                grid,
                metric=opts["metric"],
                workers=opts["workers"],
                progress=ProgressLines(self.stderr._out, f"sweep {opts['strategy']}: "),
                cash=opts["cash"],
                commission=commission_spec(opts["commission"]),
                sizing=parse_json_option(opts["sizing"], "--sizing"),
            )
        except (
            UnknownStrategyError,
            ParameterError,
            DataError,
            CostConfigError,
            ValueError,
        ) as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False))
            return
        for line in ranked_table(result, opts["top"]):
            self.stdout.write(line)
        for row in result.errors:
            self.stdout.write(f"invalid: {json.dumps(row['params'])}: {row['error']}")
        self.stdout.write(result.summary())

    def _bars(self, opts):
        start = parse_date(opts["start"], "--start")
        end = parse_date(opts["end"], "--end")
        try:
            if opts["data"]:
                return select_range(load_csv(Path(opts["data"])), start, end)
            if not opts["symbol"]:
                raise CommandError(f"give --data, or --symbol to download bars; {DATA_HINT}")
            end = end or date.today()
            start = start or end - timedelta(days=5 * 365)
            frame = yahoo_bars(opts["symbol"], start, end, hint=DATA_HINT)
            return select_range(frame, start, end)
        except DataError as exc:
            raise CommandError(str(exc)) from None
