"""Command line: ``python -m algo_trading {list,backtest,sweep} ...``.

A thin shell over ``run_backtest`` / ``run_sweep`` / ``registry.list``; the Django management
command can mirror these options. Parameters are ``--param name=value`` (values are coerced by
the strategy's Param declarations); grids are ``--grid name=v1,v2,v3``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import registry
from .data import SAMPLE_CSV, DataError, load_csv
from .params import ParameterError
from .runner import run_backtest
from .synthetic import generate_bars


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {what} must look like name=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _json_arg(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"error: not valid JSON: {text!r} ({exc})") from None
    if not isinstance(value, dict):
        raise SystemExit(f"error: expected a JSON object, got {text!r}")
    return value


def _bars(args: argparse.Namespace):  # noqa: ANN202 - DataFrame
    if args.synthetic:
        return generate_bars(args.synthetic, freq=args.freq, seed=args.seed)
    return load_csv(args.csv or SAMPLE_CSV)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("strategy", help="registered strategy name (see 'list')")
    p.add_argument("--csv", help="Date,Open,High,Low,Close,Volume file (default: sample)")
    p.add_argument("--synthetic", type=int, metavar="N", help="use N synthetic GBM bars")
    p.add_argument("--freq", default="1D", choices=("1D", "1min"), help="synthetic bar size")
    p.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    p.add_argument("--cash", type=float, default=100_000.0)
    p.add_argument("--commission", help='JSON, e.g. {"model":"per_share","rate":0.005}')
    p.add_argument("--slippage", help='JSON, e.g. {"model":"bps","bps":5}')
    p.add_argument("--sizing", help='JSON, e.g. {"model":"fixed","quantity":100}')


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m algo_trading", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered strategies and their parameters (JSON)")

    bt = sub.add_parser("backtest", help="run one backtest")
    _add_common(bt)
    bt.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    bt.add_argument("--engine", default="auto", choices=("auto", "event", "vectorised"))
    bt.add_argument("--json", dest="json_out", help="write the result JSON here ('-': stdout)")
    bt.add_argument("--html", help="write the HTML report here")
    bt.add_argument("--png", help="write the chart here")

    sw = sub.add_parser("sweep", help="grid search, ranked by a metric")
    _add_common(sw)
    sw.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...")
    sw.add_argument("--metric", default="sharpe")
    sw.add_argument("--workers", type=int, default=None)
    sw.add_argument("--top", type=int, default=10, help="rows to print")

    args = ap.parse_args(argv)
    try:
        if args.command == "list":
            print(json.dumps(registry.list(), indent=2))
            return 0
        common = {
            "cash": args.cash,
            "commission": _json_arg(args.commission),
            "slippage": _json_arg(args.slippage),
            "sizing": _json_arg(args.sizing),
        }
        bars = _bars(args)
        if args.command == "backtest":
            result = run_backtest(
                args.strategy,
                bars,
                _pairs(args.param, "--param"),
                engine=args.engine,
                symbol=Path(args.csv).stem if args.csv else "",
                **common,
            )
            m = result.metrics
            print(
                f"{result.strategy} {result.params} on {result.bars} bars ({result.engine}): "
                f"return {m['total_return_pct']}% (buy & hold {m['buy_hold_return_pct']}%), "
                f"sharpe {m['sharpe']}, max drawdown {m['max_drawdown_pct']}%, "
                f"{m['num_trades']} trades"
            )
            if args.json_out == "-":
                print(result.to_json(indent=2))
            elif args.json_out:
                Path(args.json_out).write_text(result.to_json(indent=2))
            if args.html:
                result.save_html(args.html)
            if args.png:
                result.plot_png(args.png)
            return 0
        from .sweep import run_sweep

        grid = {k: [x for x in v.split(",") if x] for k, v in _pairs(args.grid, "--grid").items()}
        result = run_sweep(
            args.strategy, bars, grid, metric=args.metric, workers=args.workers, **common
        )
        for row in result.rows[: args.top]:
            print(row["metrics"].get(args.metric), json.dumps(row["params"]))
        return 0
    except (ParameterError, DataError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
