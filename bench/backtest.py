"""Backtester benchmark: MA crossover over 1,000,000 synthetic one-minute bars.

Run: ``.venv/bin/python bench/backtest.py [--bars N] [--repeat K] [--fast F --slow S]``

Times ``run_backtest`` end to end (validation, engine, equity curve, metrics; not data
generation) on the vectorised and the event-driven engine, checks both produced the same
trades (same count, identical entries and exits), and compares throughput with the targets:
>= 1,000,000 bars/s vectorised, >= 200,000 bars/s event-driven. Progress goes to stderr; the
last stdout line is a one-line summary. Exit status 1 if the engines disagree (or, with
``--strict``, if a target is missed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from algo_trading import run_backtest  # noqa: E402
from algo_trading.synthetic import generate_bars  # noqa: E402

TARGET_VECTORISED = 1_000_000
TARGET_EVENT = 200_000


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed(engine: str, bars, params: dict, repeat: int):  # noqa: ANN001, ANN201
    """Best wall time over ``repeat`` runs, and the CPU time of that run."""
    best, best_cpu = float("inf"), float("inf")
    result = None
    for k in range(repeat):
        progress(f"  {engine} run {k + 1}/{repeat}...")
        started, started_cpu = time.perf_counter(), time.process_time()
        result = run_backtest("ma_crossover", bars, params, engine=engine, cash=100_000.0)
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        progress(f"    {wall:.3f}s wall, {cpu:.3f}s cpu")
        if wall < best:
            best, best_cpu = wall, cpu
    return result, best, best_cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=1_000_000, help="number of one-minute bars")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine; best time counts")
    ap.add_argument("--fast", type=int, default=10)
    ap.add_argument("--slow", type=int, default=30)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    progress(f"generating {args.bars:,} one-minute GBM bars (seed {args.seed})...")
    t0 = time.perf_counter()
    bars = generate_bars(args.bars, freq="1min", seed=args.seed)
    progress(f"  done in {time.perf_counter() - t0:.2f}s")
    params = {"fast": args.fast, "slow": args.slow}

    progress("vectorised engine:")
    vec, vec_s, vec_cpu = timed("vectorised", bars, params, args.repeat)
    progress("event-driven engine:")
    evt, evt_s, evt_cpu = timed("event", bars, params, args.repeat)

    n = len(bars)
    vec_rate = n / vec_s
    evt_rate = n / evt_s
    same = vec.trade_signature() == evt.trade_signature()
    same_equity = bool((abs(vec.equity_values - evt.equity_values) < 1e-6).all())

    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"bars: {n:,} one-minute, ma_crossover fast={args.fast} slow={args.slow} (sma)")
    print(f"machine: {os.cpu_count()} cpus, load average {load} (rates are wall-clock)")
    print(
        f"vectorised:   {vec_s:7.3f}s  {vec_rate:13,.0f} bars/s  "
        f"target {TARGET_VECTORISED:,}  ratio {vec_rate / TARGET_VECTORISED:.2f}x  "
        f"(cpu {vec_cpu:.3f}s: {n / vec_cpu:,.0f} bars/s)"
    )
    print(
        f"event-driven: {evt_s:7.3f}s  {evt_rate:13,.0f} bars/s  "
        f"target {TARGET_EVENT:,}  ratio {evt_rate / TARGET_EVENT:.2f}x  "
        f"(cpu {evt_cpu:.3f}s: {n / evt_cpu:,.0f} bars/s)"
    )
    print(
        f"trades: vectorised {len(vec.trades):,}, event-driven {len(evt.trades):,}; "
        f"identical entries/exits: {'yes' if same else 'NO'}; "
        f"identical equity curve: {'yes' if same_equity else 'NO'}"
    )
    met = vec_rate >= TARGET_VECTORISED and evt_rate >= TARGET_EVENT
    print(
        f"SUMMARY backtest: {n:,} bars, vectorised {vec_rate:,.0f} bars/s "
        f"({vec_rate / TARGET_VECTORISED:.2f}x target), event {evt_rate:,.0f} bars/s "
        f"({evt_rate / TARGET_EVENT:.2f}x target), {len(evt.trades):,} trades, "
        f"same trades: {'yes' if same else 'NO'}, targets {'met' if met else 'MISSED'}"
    )
    if not same:
        return 1
    if args.strict and not met:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
