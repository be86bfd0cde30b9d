"""Throughput and latency benchmark of the matching engine (one instrument, one core).

    .venv/bin/python bench/engine.py [--messages N] [--seed S] [--drain-every K] [--repeat R]
                                     [--gc-on] [--profile]

Workload (pre-generated from a seeded RNG, not timed): 60% limit orders within 50 ticks of a
random-walking mid (on their passive side, sizes 1-100, 90% gtc / 10% day), 25% cancels of
earlier orders (picked at random among those not yet canceled, so some have filled meanwhile
and come back REJECTED - counted below), 10% marketable limits (1-10 ticks through the mid, half
gtc / half ioc), 5% market orders; 50 accounts, so self-trade prevention fires now and then.
The mid moves faster than the book's inside follows, so some "passive" orders cross on arrival:
the realised mix is printed.

Pass 1 feeds the messages to `Engine.process` in batches of ``--drain-every`` (100), draining
the level changes after each batch as the worker does, and times the whole run as a batch (best
of ``--repeat`` runs, wall clock and CPU time). Pass 1b does the same through the one-message
API (`submit` / `cancel`). Pass 2 replays the messages one call each, timing every call with
``time.perf_counter_ns`` (its own overhead is measured and printed, and included in the figures)
for the latency percentiles and the longest single call. All passes must end in the same book.

The collector: a large book is ~10^5 live lists, and CPython's cyclic GC walks all of them on
each full collection (tens of ms on this machine; ``--gc-on`` shows it). The benchmark does what
the matching worker should do: ``gc.collect(); gc.freeze()`` after setup and ``gc.disable()``
while processing. That is safe because the engine's garbage never forms reference cycles -
records, events and levels are freed by reference counting - which the benchmark checks at the
end (a collection after the run must find nothing).

The machine is shared: wall-clock figures include time the scheduler gave to other processes, so
the load average is printed, and CPU time is reported next to wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching.codes import BUY, CANCEL, DAY, GTC, IOC, LIMIT, MARKET, SELL, SUBMIT  # noqa: E402
from matching.engine import Engine  # noqa: E402
from matching.events import FILL, REJECTED  # noqa: E402

SYMBOL = "BENCH"
PYLOB_RATE = 183_000  # PyLOB's published orders/s
BRIEF_RATE = 6_000  # the original brief's figure
PASSIVE, CANCEL_MSG, MARKETABLE, MARKET_MSG = range(4)  # generator categories


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def generate(n: int, seed: int) -> tuple[list[tuple], list[int]]:
    """``n`` messages as `Engine.process` tuples, and the generator's category of each."""
    rng = random.Random(seed)
    rand = rng.random
    randint = rng.randint
    mid = 10_000
    next_id = 1
    cancellable: list[int] = []
    msgs: list[tuple] = []
    cats: list[int] = []
    append = msgs.append
    for i in range(n):
        step = rand()
        if step < 0.1:
            mid += 1
        elif step < 0.2:
            mid = max(mid - 1, 100)
        r = rand()
        if r < 0.60 or (r < 0.85 and not cancellable):
            side = BUY if rand() < 0.5 else SELL
            off = randint(1, 50)
            price = mid - off if side == BUY else mid + off
            tif = GTC if rand() < 0.9 else DAY
            qty = randint(1, 100)
            append((SUBMIT, next_id, randint(1, 50), SYMBOL, side, LIMIT, tif, qty, price, None))
            cats.append(PASSIVE)
            cancellable.append(next_id)
            next_id += 1
        elif r < 0.85:
            j = randint(0, len(cancellable) - 1)
            cancellable[j], cancellable[-1] = cancellable[-1], cancellable[j]
            append((CANCEL, cancellable.pop()))
            cats.append(CANCEL_MSG)
        elif r < 0.95:
            side = BUY if rand() < 0.5 else SELL
            off = randint(1, 10)
            price = mid + off if side == BUY else mid - off
            tif = GTC if rand() < 0.5 else IOC
            qty = randint(1, 100)
            append((SUBMIT, next_id, randint(1, 50), SYMBOL, side, LIMIT, tif, qty, price, None))
            cats.append(MARKETABLE)
            if tif == GTC:
                cancellable.append(next_id)
            next_id += 1
        else:
            side = BUY if rand() < 0.5 else SELL
            qty = randint(1, 100)
            append((SUBMIT, next_id, randint(1, 50), SYMBOL, side, MARKET, IOC, qty, None, None))
            cats.append(MARKET_MSG)
            next_id += 1
        if i % 250_000 == 0 and i:
            log(f"  generated {i:,} messages")
    return msgs, cats


def as_calls(engine: Engine, msgs: list[tuple]) -> list[tuple]:
    """The same messages as (bound method, args) pairs for the one-message API."""
    submit = engine.submit
    cancel = engine.cancel
    return [(submit, m[1:]) if m[0] == SUBMIT else (cancel, m[1:]) for m in msgs]


def batches(msgs: list, size: int) -> list[list]:
    return [msgs[i : i + size] for i in range(0, len(msgs), size)]


def new_engine() -> Engine:
    engine = Engine()
    engine.add_book(SYMBOL)
    return engine


def book_state(engine: Engine) -> tuple:
    bids, asks = engine.depth(SYMBOL, 1_000_000)
    return len(engine), len(bids), len(asks), tuple(bids), tuple(asks), engine.last_price(SYMBOL)


def timer_overhead_ns() -> int:
    pc = time.perf_counter_ns
    samples = []
    for _ in range(200_000):
        t0 = pc()
        t1 = pc()
        samples.append(t1 - t0)
    samples.sort()
    return samples[len(samples) // 2]


def pct(sorted_values: list[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def gc_quiet(gc_on: bool) -> None:
    gc.collect()
    if not gc_on:
        if hasattr(gc, "freeze"):  # CPython; PyPy's collector is incremental and has none
            gc.freeze()
        gc.disable()


def gc_restore() -> int:
    """Re-enable the collector; return what a full collection finds (cyclic garbage)."""
    gc.enable()
    if hasattr(gc, "unfreeze"):
        gc.unfreeze()
    return gc.collect()


def pass_batch(msgs: list[tuple], drain_every: int, gc_on: bool, label: str) -> dict:
    """Engine.process on batches of ``drain_every`` messages, each followed by a drain."""
    engine = new_engine()
    chunks = batches(msgs, drain_every)
    process = engine.process
    drain = engine.drain_level_changes
    pc = time.perf_counter_ns
    tc = time.thread_time_ns
    worst_wall = worst_cpu = 0
    report_every = max(1, len(chunks) // 4)
    gc_quiet(gc_on)
    start, start_cpu = time.perf_counter(), time.process_time()
    t_prev, c_prev = pc(), tc()
    for k, chunk in enumerate(chunks):
        process(chunk)
        drain()
        t_now, c_now = pc(), tc()
        if t_now - t_prev > worst_wall:
            worst_wall = t_now - t_prev
        if c_now - c_prev > worst_cpu:
            worst_cpu = c_now - c_prev
        t_prev, c_prev = t_now, c_now
        if k % report_every == 0 and k:
            log(f"  {label}: {k * drain_every:,} messages")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    garbage = gc_restore()
    return {
        "state": book_state(engine),
        "elapsed": elapsed,
        "cpu": cpu,
        "worst_wall": worst_wall,
        "worst_cpu": worst_cpu,
        "garbage": garbage,
    }


def pass_calls(msgs: list[tuple], drain_every: int, gc_on: bool) -> dict:
    """The same messages through submit()/cancel(), one call each, timed as a batch."""
    engine = new_engine()
    chunks = batches(as_calls(engine, msgs), drain_every)
    drain = engine.drain_level_changes
    report_every = max(1, len(chunks) // 4)
    gc_quiet(gc_on)
    start, start_cpu = time.perf_counter(), time.process_time()
    for k, chunk in enumerate(chunks):
        for fn, args in chunk:
            fn(*args)
        drain()
        if k % report_every == 0 and k:
            log(f"  pass 1b: {k * drain_every:,} messages")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    gc_restore()
    return {"state": book_state(engine), "elapsed": elapsed, "cpu": cpu}


def pass_latency(msgs: list[tuple], cats: list[int], drain_every: int, gc_on: bool) -> dict:
    """Each message timed alone (one-message API) with perf_counter_ns."""
    engine = new_engine()
    calls = as_calls(engine, msgs)
    drain = engine.drain_level_changes
    pc = time.perf_counter_ns
    lat = [0] * len(calls)
    fills = rejects = crossed = 0
    drain_max = 0
    report_every = max(1, len(calls) // 4)
    gc_quiet(gc_on)
    for i, (fn, args) in enumerate(calls):
        t0 = pc()
        events = fn(*args)
        t1 = pc()
        lat[i] = t1 - t0
        n_fills = 0
        for e in events:
            if e[0] == FILL:
                n_fills += 1
            elif e[0] == REJECTED:
                rejects += 1
        fills += n_fills
        if n_fills and cats[i] == PASSIVE:
            crossed += 1
        if (i + 1) % drain_every == 0:
            t0 = pc()
            drain()
            t1 = pc()
            if t1 - t0 > drain_max:
                drain_max = t1 - t0
        if i % report_every == 0 and i:
            log(f"  pass 2: {i:,} messages")
    gc_restore()
    lat.sort()
    return {
        "state": book_state(engine),
        "lat": lat,
        "fills": fills,
        "rejects": rejects,
        "crossed": crossed,
        "drain_max": drain_max,
    }


def profile(msgs: list[tuple], drain_every: int) -> str:
    """cProfile of one pass-1 run: the functions that take the time (profiler overhead incl.)."""
    engine = new_engine()
    chunks = batches(msgs, drain_every)
    process = engine.process
    drain = engine.drain_level_changes
    prof = cProfile.Profile()
    gc_quiet(False)
    prof.enable()
    for chunk in chunks:
        process(chunk)
        drain()
    prof.disable()
    gc_restore()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-every", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="pass 1 runs; the best is kept")
    parser.add_argument("--gc-on", action="store_true", help="leave the default GC running")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of pass 1")
    opts = parser.parse_args(argv)
    n = opts.messages
    load_start = os.getloadavg()[0]

    log(f"generating {n:,} messages, seed {opts.seed}")
    msgs, cats = generate(n, opts.seed)
    if opts.profile:
        log("profiling pass 1 (cProfile)")
        print(profile(msgs, opts.drain_every))
    runs = []
    for r in range(opts.repeat):
        log(f"pass 1, run {r + 1}/{opts.repeat} (Engine.process, batches of {opts.drain_every})")
        runs.append(pass_batch(msgs, opts.drain_every, opts.gc_on, f"pass 1.{r + 1}"))
    log("pass 1b (submit()/cancel(), one call per message)")
    p1b = pass_calls(msgs, opts.drain_every, opts.gc_on)
    log("pass 2 (latency: one call per message, each timed)")
    p2 = pass_latency(msgs, cats, opts.drain_every, opts.gc_on)
    if len({p["state"] for p in (*runs, p1b, p2)}) != 1:
        log("ERROR: the passes ended in different books (non-determinism)")
        return 1
    overhead = timer_overhead_ns()
    load_end = os.getloadavg()[0]

    best = min(runs, key=lambda p: p["elapsed"])
    rate = n / best["elapsed"]
    rate_cpu = n / min(p["cpu"] for p in runs)
    rate_median = n / statistics.median(p["elapsed"] for p in runs)
    rate_calls, rate_calls_cpu = n / p1b["elapsed"], n / p1b["cpu"]
    lat = p2["lat"]
    size, nbids, nasks, *_ = p2["state"]
    p50, p99, p999, pmax = pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999), lat[-1]
    worst_wall = max(p["worst_wall"] for p in runs)
    worst_cpu = max(p["worst_cpu"] for p in runs)
    mix = [cats.count(c) / n * 100 for c in (PASSIVE, CANCEL_MSG, MARKETABLE, MARKET_MSG)]
    passive = cats.count(PASSIVE) or 1
    gc_mode = "default GC" if opts.gc_on else "gc.freeze() + gc.disable()"

    print(
        f"matching engine benchmark: {n:,} messages, seed {opts.seed}, {gc_mode}, "
        f"Python {platform.python_version()}"
    )
    print(
        f"  machine: {os.cpu_count()} CPUs, load average {load_start:.1f} at start, "
        f"{load_end:.1f} at end (other jobs share the cores: wall > CPU time)"
    )
    print(
        f"  mix: {mix[0]:.1f}% passive limits ({p2['crossed'] / passive * 100:.1f}% of them "
        f"crossed on arrival), {mix[1]:.1f}% cancels, {mix[2]:.1f}% marketable limits, "
        f"{mix[3]:.1f}% market"
    )
    print(f"  level changes drained every {opts.drain_every} messages (inside the timing)")
    print(
        f"  throughput, process() batches: {rate:,.0f} msg/s wall (best of {len(runs)}; "
        f"median {rate_median:,.0f}), {rate_cpu:,.0f} msg/s per CPU-second"
    )
    print(
        f"  throughput, submit()/cancel(): {rate_calls:,.0f} msg/s wall, "
        f"{rate_calls_cpu:,.0f} msg/s per CPU-second"
    )
    print(
        f"  latency per call (pass 2): p50 {p50 / 1000:.2f} us, p99 {p99 / 1000:.2f} us, "
        f"p99.9 {p999 / 1000:.2f} us, max {pmax / 1000:.1f} us "
        f"(perf_counter_ns overhead {overhead} ns per call, included)"
    )
    print(
        f"  longest pause: {pmax / 1e6:.2f} ms single call (pass 2); slowest "
        f"{opts.drain_every}-message batch {worst_wall / 1e6:.2f} ms wall, "
        f"{worst_cpu / 1e6:.2f} ms CPU (pass 1); slowest drain {p2['drain_max'] / 1000:.0f} us"
    )
    print(
        f"  book at end: {size:,} live orders, {nbids} bid + {nasks} ask levels; "
        f"cyclic garbage found after the run: {best['garbage']} objects"
    )
    print(f"  fills: {p2['fills']:,}; rejects (cancels of filled orders): {p2['rejects']:,}")
    print(
        f"  vs PyLOB ~{PYLOB_RATE:,}/s: {rate / PYLOB_RATE:.1f}x wall, "
        f"{rate_cpu / PYLOB_RATE:.1f}x CPU; vs the brief's ~{BRIEF_RATE:,}/s: "
        f"{rate / BRIEF_RATE:,.0f}x wall, {rate_cpu / BRIEF_RATE:,.0f}x CPU"
    )
    met = [
        f">=1M msg/s {'met' if rate >= 1_000_000 else 'NOT met'}",
        f"p99<5us {'met' if p99 < 5_000 else 'NOT met'}",
        f"pause<5ms {'met' if pmax < 5_000_000 else 'NOT met'}",
    ]
    print(
        f"SUMMARY: {rate:,.0f} msg/s wall ({rate_cpu:,.0f}/CPU-s), p50 {p50 / 1000:.2f} us, "
        f"p99 {p99 / 1000:.2f} us, p99.9 {p999 / 1000:.2f} us, max pause {pmax / 1e6:.2f} ms, "
        f"{p2['fills']:,} fills, book {size:,} orders, load {load_start:.1f}; "
        f"targets: {', '.join(met)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
