"""Orders through the matching worker with PostgreSQL persistence (issue 3's worker benchmark).

    .venv/bin/python bench/worker.py [--orders 200000] [--batch 2000] [--database-url URL]

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
    from django.db import connection

    with connection.cursor() as c:
        c.execute("TRUNCATE trading_app_trade, trading_app_position, trading_app_order")
    from trading_app.models import Instrument

    Instrument.objects.update(last_price=None, last_trade_at=None)


def throughput(orders: list[dict], batch: int, risk: bool) -> dict:
    from django.conf import settings

    from trading_app.matching_worker.worker import MatchingWorker

    settings.RISK_CHECKS_ENABLED = risk
    reset_trading()
    worker = MatchingWorker(batch_size=batch)
    worker.recover()
    batches = [orders[i : i + batch] for i in range(0, len(orders), batch)]
    durations = []
    started = time.perf_counter()
    fills = 0
    for n, chunk in enumerate(batches, 1):
        t0 = time.perf_counter()
        result = worker.process_batch([{"type": "orders.submit", "orders": chunk}])
        durations.append(time.perf_counter() - t0)
        fills += len(result.fills) if result else 0
        if n % max(1, len(batches) // 10) == 0:
            progress(f"risk={'on' if risk else 'off'}: {n}/{len(batches)} batches")
    elapsed = time.perf_counter() - started
    from trading_app.models import Order

    persisted = Order.objects.count()
    assert persisted == len(orders), f"persisted {persisted} of {len(orders)}"
    return {
        "orders_per_s": len(orders) / elapsed,
        "fills": fills,
        "batch_p50_ms": statistics.median(durations) * 1000,
        "batch_p99_ms": sorted(durations)[int(len(durations) * 0.99) - 1] * 1000,
        "us_per_order": elapsed / len(orders) * 1e6,
    }


async def latency(orders: list[dict], rate: int, seconds: float) -> dict:
    """Submit at `rate` orders/s in small frames; time each order until its first report."""
    from channels.layers import get_channel_layer

    from trading_app.matching_worker.runner import WorkerRunner, account_group
    from trading_app.matching_worker.worker import MatchingWorker

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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument(
        "--latency-rate", type=int, default=5000, help="orders/s for the latency run"
    )
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        url = args.database_url
        if not url:
            from test_servers import ensure_packages, postgres_server

            ensure_packages()
            workdir = Path(tempfile.mkdtemp(prefix="tradingsim-bench-"))
            workdir.chmod(0o755)
            (workdir / "pg").mkdir()
            url = stack.enter_context(postgres_server(workdir / "pg"))
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
        results = {}
        for risk in (True, False):
            progress(
                f"throughput: {args.orders} orders, batches of {args.batch}, risk checks {'on' if risk else 'off'}"
            )
            results[risk] = throughput(orders, args.batch, risk)
        progress(f"latency: {args.latency_rate} orders/s for {args.latency_seconds:.0f}s")
        lat_orders = make_orders(
            int(args.latency_rate * args.latency_seconds) + 10, accounts, seed=2
        )
        lat = asyncio.run(latency(lat_orders, args.latency_rate, args.latency_seconds))

    on, off = results[True], results[False]
    print("\nbench/worker.py: matching worker + PostgreSQL persistence (one core, COPY batches)")
    print(
        f"  orders                      {args.orders:,} (batch {args.batch}, {args.accounts} accounts)"
    )
    for label, r in (("risk checks on ", on), ("risk checks off", off)):
        print(
            f"  {label}             {r['orders_per_s']:>10,.0f} orders/s persisted   "
            f"{r['us_per_order']:.1f} us/order   batch p50 {r['batch_p50_ms']:.1f} ms  p99 {r['batch_p99_ms']:.1f} ms   fills {r['fills']:,}"
        )
    print(f"  risk check cost             {on['us_per_order'] - off['us_per_order']:+.2f} us/order")
    print(f"  vs target 50,000/s          {on['orders_per_s'] / TARGET:.2f}x")
    print(
        f"  vs brief 002 ~6,000/s       {on['orders_per_s'] / BRIEF_002:.1f}x (002 persisted nothing)"
    )
    print(
        f"  submit->report latency      p50 {lat['p50_ms']:.2f} ms  p99 {lat['p99_ms']:.2f} ms  mean {lat['mean_ms']:.2f} ms "
        f"at {args.latency_rate:,} orders/s ({lat['acked']:,}/{lat['submitted']:,} acked; brief 002: 10 ms average)"
    )
    print(
        f"summary: {on['orders_per_s']:,.0f} orders/s persisted with risk checks ({off['orders_per_s']:,.0f} without), "
        f"latency p50 {lat['p50_ms']:.1f} ms p99 {lat['p99_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
