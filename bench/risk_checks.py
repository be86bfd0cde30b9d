"""Per-order cost of the pre-trade risk checks (issue 7's budget: at most 20 us per order).

    .venv/bin/python bench/risk_checks.py [--orders 200000] [--accounts 100] [--batch 2000] [--repeat 3]

Builds realistic state in a throwaway SQLite database (the demo instruments, accounts with cash
and positions in every instrument, per-account limit overrides for half of them), recovers a
matching worker, then sends N orders through `RiskGate.check` exactly as `_submit` does: limit
orders around the mark (some marketable, some far enough to hit the collar), market and stop
orders, buys and sells, so each check runs and some refuse. Each `--batch` of orders starts with
the gate's batch hooks (begin_batch, prepare) and ends with its bookkeeping as after a worker
batch (nine in ten orders closed, as fills and cancels would), so open-order exposure stays at a
steady, realistic level. Prints us/order p50/p99/mean for the checks, the bookkeeping and batch
start costs per order, and the same orders with RISK_CHECKS_ENABLED=False; then the CPU each
order costs with and without the checks (batch start + check + bookkeeping, best of --repeat
runs each, interleaved) and what they add, against the 20 us budget.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_US = 20  # the risk issue: the checks add at most 20 us per order
sys.path.insert(0, str(ROOT))


def setup(accounts: int) -> list[int]:
    from django.core.management import call_command

    from trading_app.models import Account, Instrument, Position, RiskLimits
    from trading_app.services.accounts import create_account
    from trading_app.services.instruments import load_demo_instruments

    call_command("migrate", verbosity=0)
    load_demo_instruments()
    Instrument.objects.update(max_position=None)  # the account limits decide here
    ids = []
    for i in range(accounts):
        account, _ = create_account(f"risk{i}", "x", Decimal(10_000_000), reset=True)
        ids.append(account.id)
    Account.objects.filter(id__in=ids).update(cash=Decimal(10_000_000))
    rng = random.Random(7)
    instruments = list(Instrument.objects.all())
    Position.objects.filter(account_id__in=ids).delete()
    Position.objects.bulk_create(
        Position(
            account_id=a,
            instrument=inst,
            qty=rng.randint(-500, 500),
            avg_cost=inst.reference_price,
        )
        for a in ids
        for inst in instruments
    )
    RiskLimits.objects.filter(account_id__in=ids).delete()
    RiskLimits.objects.bulk_create(
        RiskLimits(account_id=a, max_order_qty=5_000, price_collar_pct=Decimal("5"))
        for a in ids[::2]
    )
    return ids


def make_orders(n: int, accounts: list[int], worker, seed: int = 1) -> list:
    from trading_app.matching_worker.state import LiveOrder

    rng = random.Random(seed)
    symbols = sorted(worker.instruments)
    marks = {s: worker.engine.last_price(s) for s in symbols}
    from trading_app.models import Instrument

    refs = dict(Instrument.objects.values_list("symbol", "reference_price"))
    base = time.time()
    orders = []
    for i in range(n):
        symbol = symbols[i % len(symbols)]
        iid, tick = worker.instruments[symbol]
        mark = refs[symbol] if marks[symbol] is None else marks[symbol] * tick
        side = "buy" if rng.random() < 0.5 else "sell"
        r = rng.random()
        kind, limit, stop = "limit", None, None
        if r < 0.85:
            offset = Decimal(rng.randint(-100, 100)) / 10_000  # within 1% of the mark
            limit = (mark * (1 + offset)).quantize(tick)
        elif r < 0.90:
            limit = (mark * Decimal("1.08")).quantize(tick)  # past a 5% collar
        elif r < 0.97:
            kind = "market"
        else:
            kind = "stop"
            stop = (mark * Decimal("1.02")).quantize(tick)
        orders.append(
            LiveOrder(
                id=uuid.UUID(int=rng.getrandbits(128)),
                account_id=accounts[rng.randrange(len(accounts))],
                instrument_id=iid,
                symbol=symbol,
                client_order_id=f"r{i}",
                seq=i + 1,  # the worker numbers every order it applies
                side=side,
                type=kind,
                time_in_force="gtc",
                qty=rng.randint(1, 200),
                limit_price=limit,
                stop_price=stop,
                created_at=_stamp(base + i / 50_000),  # 50,000 orders/s across all accounts
            )
        )
    return orders


def _stamp(seconds: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC)


class _Result:
    """The parts of a BatchResult the gate's bookkeeping reads."""

    def __init__(self, touched) -> None:
        self.touched = touched
        self.fills = []
        self.last_prices = {}


def run(orders: list, accounts: list[int], batch: int, enabled: bool) -> dict:
    from django.conf import settings

    from trading_app.matching_worker.worker import MatchingWorker

    settings.RISK_CHECKS_ENABLED = enabled
    worker = MatchingWorker()
    worker.recover()
    for order in orders:  # fresh copies of the mutable fields
        order.status, order.filled_qty = "accepted", 0
        order.held_qty, order.held_price, order.held_notional = 0, None, Decimal(0)
    gate = worker.risk
    gate.begin_batch([])
    gate.prepare(accounts)
    timings = []
    outcomes: Counter = Counter()
    bookkeeping = cpu_checks = cpu_bookkeeping = cpu_hooks = 0.0
    clock = time.perf_counter_ns
    cpu = time.thread_time
    rng = random.Random(3)
    started = time.perf_counter()
    for start in range(0, len(orders), batch):
        chunk = orders[start : start + batch]
        h0 = cpu()
        gate.begin_batch([])  # as the worker does at the start of every batch
        gate.prepare(o.account_id for o in chunk)
        c0 = cpu()
        cpu_hooks += c0 - h0
        for order in chunk:
            t0 = clock()
            reason = gate.check(order)
            timings.append(clock() - t0)
            outcomes[reason.split(":", 1)[0] if reason else "accepted"] += 1
            order.status = "new" if reason is None else "rejected"
        c1 = cpu()
        cpu_checks += c1 - c0
        t0 = time.perf_counter()
        touched = {}
        for order in chunk:
            if order.status == "new" and rng.random() < 0.9:
                order.status = "canceled"
            touched[order.id] = order
        gate.after_batch(_Result(touched))
        bookkeeping += time.perf_counter() - t0
        cpu_bookkeeping += cpu() - c1
    elapsed = time.perf_counter() - started
    timings.sort()
    n = len(timings)
    return {
        "p50": timings[n // 2] / 1000,
        "p99": timings[int(n * 0.99)] / 1000,
        "mean": statistics.fmean(timings) / 1000,
        "bookkeeping": bookkeeping / n * 1e6,
        "cpu": cpu_checks / n * 1e6,
        "cpu_bookkeeping": cpu_bookkeeping / n * 1e6,
        "cpu_hooks": cpu_hooks / n * 1e6,
        "loop": elapsed / n * 1e6,
        "outcomes": outcomes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the best is kept")
    args = parser.parse_args()

    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("TRADINGSIM_VAR_DIR", tempfile.mkdtemp(prefix="tradingsim-riskbench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingSim_project.settings")
    os.environ["LOG_LEVEL"] = "ERROR"
    import django

    django.setup()
    from trading_app.matching_worker.worker import MatchingWorker

    accounts = setup(args.accounts)
    probe = MatchingWorker()
    probe.recover()
    orders = make_orders(args.orders, accounts, probe)
    runs: dict[bool, list[dict]] = {True: [], False: []}
    for _ in range(args.repeat):
        for enabled in (True, False):  # interleaved: both modes see the same machine load
            r = run(orders, accounts, args.batch, enabled)
            r["per_order"] = r["cpu"] + r["cpu_bookkeeping"] + r["cpu_hooks"]
            runs[enabled].append(r)
    on = min(runs[True], key=lambda r: r["per_order"])
    off = min(runs[False], key=lambda r: r["per_order"])
    added = on["per_order"] - off["per_order"]

    print(
        f"\nbench/risk_checks.py: RiskGate.check, {args.orders:,} orders, {args.accounts} accounts"
    )
    print(f"  machine     load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for label, r in (("checks on ", on), ("checks off", off)):
        print(
            f"  {label}  wall p50 {r['p50']:.2f} us  p99 {r['p99']:.2f} us  mean {r['mean']:.2f} us"
            f"   CPU mean {r['cpu']:.2f} us/order"
        )
    print(
        f"  bookkeeping after each batch (fills, closes, usage): wall {on['bookkeeping']:.2f} us, "
        f"CPU {on['cpu_bookkeeping']:.2f} us per order"
    )
    print(
        f"  batch start (begin_batch + prepare: halts, changes, accounts): CPU "
        f"{on['cpu_hooks']:.2f} us per order with checks, {off['cpu_hooks']:.2f} without"
    )
    print(
        f"  per order   CPU with checks {on['per_order']:.2f} us, without {off['per_order']:.2f} us "
        f"(batch start + check + bookkeeping loops, best of {args.repeat}): the checks add {added:.2f} us = "
        f"{added / BUDGET_US:.2f}x the {BUDGET_US} us budget; p99 of one check "
        f"{on['p99'] / BUDGET_US:.0%} of it"
    )
    outcomes = ", ".join(f"{k} {v:,}" for k, v in on["outcomes"].most_common())
    print(f"  outcomes    {outcomes}")
    print(
        f"summary: risk checks p50 {on['p50']:.2f} us, p99 {on['p99']:.2f} us, CPU mean "
        f"{on['cpu']:.2f} us per order (+{on['cpu_bookkeeping']:.2f} us bookkeeping); "
        f"off: p50 {off['p50']:.2f} us; added {added:.2f} us/order CPU "
        f"({added / BUDGET_US:.2f}x the {BUDGET_US} us budget), load {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
