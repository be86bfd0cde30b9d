"""Orders through the matching worker with PostgreSQL persistence (issue 3's worker benchmark).

    .venv/bin/python bench/worker.py [--orders 200000] [--batch 2000] [--repeat 3] [--database-url URL]

Starts a throwaway PostgreSQL (as `make test` does) unless --database-url is given, migrates it,
and measures two things:
1. throughput: orders persisted per second when the worker applies channel-layer order batches
   (the WebSocket gateway's path: each order INSERTed, fills as two trade rows, positions and
   cash updated, one transaction per batch), with the pre-trade risk checks on and off;
2. latency: submit -> execution report, through the channel layer and the async runner, as a
   client sees it (p50/p99), at a moderate steady rate.
Figures are printed beside the issue's target (50,000 orders/s) and the brief's (002: ~6,000
orders/s, 10 ms average, nothing persisted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

TARGET = 50_000
BRIEF_002 = 6_000
RISK_BUDGET_US = 20  # the risk issue: the checks add at most 20 us per order


def progress(message: str) -> None:
    print(f"[bench/worker] {message}", file=sys.stderr, flush=True)


def make_orders(n: int, accounts: list[int], seed: int = 1) -> list[dict]:
    """A mixed stream: mostly passive limits around a drifting mid, some marketable, some market."""
    rng = random.Random(seed)
    mid = 19000
    orders = []
    for i in range(n):
        mid += rng.choice((-1, 0, 0, 1))
        side = "buy" if rng.random() < 0.5 else "sell"
        r = rng.random()
        o = {
            "id": str(uuid.UUID(int=rng.getrandbits(128))),
            "account_id": accounts[i % len(accounts)],
            "client_order_id": f"b{i}",
            "symbol": "AAPL",
            "side": side,
            "type": "limit",
            "time_in_force": "gtc",
            "qty": rng.randint(1, 100),
            "limit_price": None,
            "stop_price": None,
            "origin": "bench",
        }
        offset = rng.randint(1, 50)
        if r < 0.80:
            ticks = mid - offset if side == "buy" else mid + offset
            o["limit_price"] = f"{ticks / 100:.2f}"
        elif r < 0.95:
            ticks = mid + offset if side == "buy" else mid - offset
            o["limit_price"] = f"{ticks / 100:.2f}"
            o["time_in_force"] = "ioc"
        else:
            o["type"], o["time_in_force"] = "market", "ioc"
        orders.append(o)
    return orders


def setup_database(accounts: int) -> list[int]:
    from django.core.management import call_command

    from trading_app.models import Account
    from trading_app.services.accounts import create_account
    from trading_app.services.instruments import load_demo_instruments

    call_command("migrate", verbosity=0)
    load_demo_instruments()
    ids = []
    for i in range(accounts):
        account, _ = create_account(f"bench{i}", "x", 10**12, reset=True)
        ids.append(account.id)
    Account.objects.filter(id__in=ids).update(cash=10**12)
    return ids


def reset_trading() -> None:
    """Every run starts from the same state: no orders, trades or positions, no halts (the risk
    checks halt accounts that hit the daily loss limit), no equity history (the loss baseline)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE trading_app_trade, trading_app_position, trading_app_order, "
            "trading_app_equitysnapshot"
        )
    from trading_app.models import Account, ExchangeStatus, Instrument

    Instrument.objects.update(last_price=None, last_trade_at=None)
    Account.objects.filter(user__username__startswith="bench").update(
        cash=10**12, halted=False, halted_reason=""
    )
    ExchangeStatus.objects.update(halted=False)


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (local servers only)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        pid = c.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(orders: list[dict], batch: int, risk: bool) -> dict:
    from django.conf import settings

    from trading_app.matching_worker.worker import MatchingWorker, tune_gc

    settings.RISK_CHECKS_ENABLED = risk
    reset_trading()
    worker = MatchingWorker(batch_size=batch)
    worker.recover()
    tune_gc()  # as WorkerRunner.run does after recovery
    batches = [orders[i : i + batch] for i in range(0, len(orders), batch)]
    durations = []
    pg_before = _backend_cpu()
    cpu_before = time.process_time()
    started = time.perf_counter()
    fills = 0
    for n, chunk in enumerate(batches, 1):
        t0 = time.perf_counter()
        result = worker.process_batch([{"type": "orders.submit", "orders": chunk}])
        durations.append(time.perf_counter() - t0)
        fills += len(result.fills) if result else 0
        if n % max(1, len(batches) // 4) == 0:
            progress(f"risk={'on' if risk else 'off'}: {n}/{len(batches)} batches")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    pg_after = _backend_cpu()
    from trading_app.models import Order

    persisted = Order.objects.count()
    assert persisted == len(orders), f"persisted {persisted} of {len(orders)}"
    n = len(orders)
    return {
        "orders_per_s": n / elapsed,
        "fills": fills,
        "batch_p50_ms": statistics.median(durations) * 1000,
        "batch_p99_ms": sorted(durations)[max(0, int(len(durations) * 0.99) - 1)] * 1000,
        "us_per_order": elapsed / n * 1e6,
        "cpu_us_per_order": cpu / n * 1e6,
        "pg_us_per_order": (pg_after - pg_before) / n * 1e6
        if pg_before is not None and pg_after is not None
        else None,
    }


GATE_PARTS = ("begin_batch", "prepare", "check", "after_batch")


def gate_cpu(orders: list[dict], batch: int, risk: bool) -> dict[str, float]:
    """One more run, timing the gate's own hooks (thread CPU, us per order).

    The on/off difference of whole runs carries the machine's noise (other processes, caches);
    this counts only the time spent inside RiskGate. Reading the thread's CPU clock is a system
    call (~1 us here), so the cost of a timed empty call is measured and taken off each call.
    """
    from trading_app.matching_worker.risk_gate import RiskGate

    spent = dict.fromkeys(GATE_PARTS, 0.0)
    calls = dict.fromkeys(GATE_PARTS, 0)
    originals = {name: getattr(RiskGate, name) for name in GATE_PARTS}
    clock = time.thread_time

    def timed(name, method):
        def wrapper(*args, **kwargs):
            t0 = clock()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] += clock() - t0
                calls[name] += 1

        return wrapper

    empty = timed("check", lambda: None)
    t0 = clock()
    for _ in range(20_000):
        empty()
    overhead = (clock() - t0) / 20_000  # an empty timed call, clock reads included
    spent["check"] = 0.0
    calls["check"] = 0

    for name, method in originals.items():
        setattr(RiskGate, name, timed(name, method))
    try:
        throughput(orders, batch, risk)
    finally:
        for name, method in originals.items():
            setattr(RiskGate, name, method)
    return {
        name: max(0.0, seconds - calls[name] * overhead) / len(orders) * 1e6
        for name, seconds in spent.items()
    }


async def latency(orders: list[dict], rate: int, seconds: float, risk: bool) -> dict:
    """Submit at `rate` orders/s in small frames; time each order until its first report."""
    from channels.layers import get_channel_layer
    from django.conf import settings

    from trading_app.groups import account_group
    from trading_app.matching_worker.runner import WorkerRunner
    from trading_app.matching_worker.worker import MatchingWorker

    settings.RISK_CHECKS_ENABLED = risk

    reset_trading_async = asyncio.to_thread(reset_trading)
    await reset_trading_async
    layer = get_channel_layer()
    runner = WorkerRunner(MatchingWorker(), layer)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await runner.ready.wait()
    inbox = await layer.new_channel("bench.")
    for account in {o["account_id"] for o in orders}:
        await layer.group_add(account_group(account), inbox)
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def collect():
        while True:
            message = await layer.receive(inbox)
            now = time.perf_counter()
            for update in message.get("updates", []):
                oid = (update.get("order") or {}).get("id") or update.get("id")
                t = sent.pop(oid, None)
                if t is not None:
                    latencies.append(now - t)

    collector = asyncio.create_task(collect())
    frame = max(1, rate // 200)  # 200 frames a second
    interval = frame / rate
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline and i < len(orders):
        chunk = orders[i : i + frame]
        i += frame
        now = time.perf_counter()
        for o in chunk:
            sent[o["id"]] = now
        await layer.send(runner.channel, {"type": "orders.submit", "orders": chunk})
        await asyncio.sleep(interval)
    await asyncio.sleep(1.0)
    collector.cancel()
    stop.set()
    await task
    latencies.sort()
    n = len(latencies)
    return {
        "submitted": i,
        "acked": n,
        "p50_ms": latencies[n // 2] * 1000 if n else float("nan"),
        "p99_ms": latencies[int(n * 0.99) - 1] * 1000 if n else float("nan"),
        "mean_ms": statistics.fmean(latencies) * 1000 if n else float("nan"),
    }


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument(
        "--repeat", type=int, default=3, help="throughput runs per mode; the best is reported"
    )
    parser.add_argument(
        "--latency-rate", type=int, default=5000, help="orders/s for the latency run"
    )
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument(
        "--no-latency", action="store_true", help="throughput only (the risk cost figures)"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    load_start = _load()

    with contextlib.ExitStack() as stack:
        url = args.database_url
        if not url:
            from test_servers import throwaway_postgres

            url = stack.enter_context(throwaway_postgres())
        os.environ["DATABASE_URL"] = url
        os.environ.pop("REDIS_URL", None)  # the in-memory layer: this measures the worker
        os.environ["SESSION_END_UTC"] = ""
        os.environ.setdefault(
            "TRADINGSIM_VAR_DIR", tempfile.mkdtemp(prefix="tradingsim-bench-var-")
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingSim_project.settings")
        os.environ["LOG_LEVEL"] = "WARNING"
        import django

        django.setup()
        progress("preparing the database")
        accounts = setup_database(args.accounts)
        orders = make_orders(args.orders, accounts)
        runs: dict[bool, list[dict]] = {True: [], False: []}
        for rep in range(args.repeat):
            for risk in (True, False):  # interleaved: both modes see the same machine load
                progress(
                    f"throughput {rep + 1}/{args.repeat}: {args.orders} orders, batches of "
                    f"{args.batch}, risk checks {'on' if risk else 'off'}"
                )
                runs[risk].append(throughput(orders, args.batch, risk))
        progress("one more run each way, timing the gate's hooks")
        gate = gate_cpu(orders, args.batch, True)
        gate_off = gate_cpu(orders, args.batch, False)
        lat_orders = make_orders(
            int(args.latency_rate * args.latency_seconds) + 10, accounts, seed=2
        )
        lat = {}
        for risk in (True, False) if not args.no_latency else ():
            progress(
                f"latency: {args.latency_rate} orders/s for {args.latency_seconds:.0f}s, "
                f"risk checks {'on' if risk else 'off'}"
            )
            lat[risk] = asyncio.run(
                latency(lat_orders, args.latency_rate, args.latency_seconds, risk)
            )
    load_end = _load()

    best = {risk: max(r, key=lambda x: x["orders_per_s"]) for risk, r in runs.items()}
    on, off = best[True], best[False]
    print("\nbench/worker.py: matching worker + PostgreSQL persistence (one core, COPY batches)")
    print(
        f"  orders                      {args.orders:,} (batch {args.batch}, {args.accounts} accounts), "
        f"best of {args.repeat}; machine load (1/5 min) {load_start} at start, {load_end} at end, "
        f"{os.cpu_count()} cores"
    )
    for label, risk in (("risk checks on ", True), ("risk checks off", False)):
        r = best[risk]
        pg = f"{r['pg_us_per_order']:.1f}" if r["pg_us_per_order"] is not None else "?"
        spread = ", ".join(f"{x['orders_per_s']:,.0f}" for x in runs[risk])
        print(
            f"  {label}             {r['orders_per_s']:>10,.0f} orders/s persisted ({spread})   "
            f"{r['us_per_order']:.1f} us/order wall, CPU: worker {r['cpu_us_per_order']:.1f} us/order + "
            f"PostgreSQL backend {pg} us/order   batch p50 {r['batch_p50_ms']:.1f} ms  "
            f"p99 {r['batch_p99_ms']:.1f} ms   fills {r['fills']:,}"
        )
    cpu_on = min(r["cpu_us_per_order"] for r in runs[True])
    cpu_off = min(r["cpu_us_per_order"] for r in runs[False])
    added = cpu_on - cpu_off
    paired = sorted(
        a["cpu_us_per_order"] - b["cpu_us_per_order"]
        for a, b in zip(runs[True], runs[False], strict=True)
    )
    print(
        f"  worker CPU per order        with checks {cpu_on:.1f} us, without {cpu_off:.1f} us "
        f"(best of {args.repeat} each)"
    )
    print(
        f"  risk check cost             {added:+.2f} us/order worker CPU = {added / RISK_BUDGET_US:.2f}x "
        f"the {RISK_BUDGET_US} us budget (best CPU with - best CPU without; interleaved pairs "
        f"{', '.join(f'{d:+.1f}' for d in paired)}); wall {on['us_per_order'] - off['us_per_order']:+.2f} us/order "
        f"(best runs)"
    )
    parts = ", ".join(f"{name} {gate[name]:.2f}" for name in GATE_PARTS)
    inside = sum(gate.values()) - sum(gate_off.values())
    print(
        f"  inside the gate             {sum(gate.values()):.2f} us/order thread CPU with checks "
        f"({parts}), {sum(gate_off.values()):.2f} without (halts only): the checks add "
        f"{inside:.2f} us = {inside / RISK_BUDGET_US:.2f}x the budget (timed directly, one more run each)"
    )
    for label, r in (("on ", on), ("off", off)):
        print(
            f"  vs target 50,000/s (risk {label}) {r['orders_per_s'] / TARGET:.2f}x    "
            f"vs brief 002 ~6,000/s {r['orders_per_s'] / BRIEF_002:.2f}x (002 persisted nothing)"
        )
    for label, risk in (("risk on ", True), ("risk off", False)) if lat else ():
        r = lat[risk]
        print(
            f"  submit->report ({label})   p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  mean {r['mean_ms']:.2f} ms "
            f"at {args.latency_rate:,} orders/s ({r['acked']:,}/{r['submitted']:,} acked; brief 002: 10 ms average)"
        )
    latency_text = (
        f"latency p50 {lat[True]['p50_ms']:.1f} ms p99 {lat[True]['p99_ms']:.1f} ms "
        f"(without checks p50 {lat[False]['p50_ms']:.1f} ms p99 {lat[False]['p99_ms']:.1f} ms); "
        if lat
        else ""
    )
    print(
        f"summary: {on['orders_per_s']:,.0f} orders/s persisted with risk checks ({off['orders_per_s']:,.0f} without), "
        f"{latency_text}"
        f"checks add {added:+.1f} us/order worker CPU ({cpu_on:.1f} vs {cpu_off:.1f}; "
        f"{added / RISK_BUDGET_US:.2f}x the {RISK_BUDGET_US} us budget; {inside:.1f} us/order "
        f"timed inside the gate), load {load_start} -> {load_end}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
