"""Throughput and latency benchmark of the matching engine (one instrument, one core).

    .venv/bin/python bench/engine.py [--messages N] [--seed S] [--drain-every K] [--gc-on]

Workload (pre-generated from a seeded RNG, not timed): 60% limit orders within 50 ticks of a
random-walking mid (passive side, sizes 1-100, 90% gtc / 10% day), 25% cancels of earlier limit
orders (picked at random among those not yet canceled, so some have filled in the meantime and
come back REJECTED - counted below), 10% marketable limits (through the mid, half gtc / half
ioc), 5% market orders; 50 accounts, so self-trade prevention fires now and then.

Pass 1 times the whole run as a batch (level changes drained every ``--drain-every`` messages,
as the worker does once per batch); it also records how long each 100-message batch took, the
bound on any pause during the run. Pass 2 replays the same messages on a fresh engine timing
each call with ``time.perf_counter_ns`` (its own overhead is measured and printed) to get the
latency percentiles and the longest single call. Both passes must end in the same book.

The collector: a large book is hundreds of thousands of live lists, and CPython's cyclic GC
walks all of them on every full collection (40-150 ms pauses measured on this machine). The
benchmark does what the matching worker should do: ``gc.collect(); gc.freeze()`` after setup
and ``gc.disable()`` while processing (the engine creates no reference cycles that need the
cycle collector: records leave the book by refcount). ``--gc-on`` runs with the default
collector instead, to show the difference.
"""

from __future__ import annotations

import argparse
import gc
import random
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


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def generate(n: int, seed: int) -> list[tuple]:
    """Pre-generate ``n`` messages as `Engine.process` tuples (SUBMIT ... / CANCEL ...)."""
    rng = random.Random(seed)
    rand = rng.random
    randint = rng.randint
    mid = 10_000
    next_id = 1
    cancellable: list[int] = []
    msgs: list[tuple] = []
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
            cancellable.append(next_id)
            next_id += 1
        elif r < 0.85:
            j = randint(0, len(cancellable) - 1)
            cancellable[j], cancellable[-1] = cancellable[-1], cancellable[j]
            append((CANCEL, cancellable.pop()))
        elif r < 0.95:
            side = BUY if rand() < 0.5 else SELL
            off = randint(1, 10)
            price = mid + off if side == BUY else mid - off
            tif = GTC if rand() < 0.5 else IOC
            qty = randint(1, 100)
            append((SUBMIT, next_id, randint(1, 50), SYMBOL, side, LIMIT, tif, qty, price, None))
            if tif == GTC:
                cancellable.append(next_id)
            next_id += 1
        else:
            side = BUY if rand() < 0.5 else SELL
            qty = randint(1, 100)
            append((SUBMIT, next_id, randint(1, 50), SYMBOL, side, MARKET, IOC, qty, None, None))
            next_id += 1
        if i % 200_000 == 0 and i:
            log(f"  generated {i:,} messages")
    return msgs


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
        gc.freeze()
        gc.disable()


def gc_restore() -> None:
    gc.enable()
    gc.unfreeze()
    gc.collect()


def pass_batch(msgs: list[tuple], drain_every: int, gc_on: bool) -> dict:
    """Pass 1: Engine.process on batches of ``drain_every`` messages, each followed by a drain."""
    engine = new_engine()
    chunks = batches(msgs, drain_every)
    process = engine.process
    drain = engine.drain_level_changes
    pc = time.perf_counter_ns
    batch_times = []
    record = batch_times.append
    report_every = max(1, len(chunks) // 5)
    gc_quiet(gc_on)
    start = time.perf_counter()
    t_prev = pc()
    for k, chunk in enumerate(chunks):
        process(chunk)
        drain()
        t_now = pc()
        record(t_now - t_prev)
        t_prev = t_now
        if k % report_every == 0 and k:
            log(f"  pass 1: {k * drain_every:,} messages")
    elapsed = time.perf_counter() - start
    gc_restore()
    return {"state": book_state(engine), "elapsed": elapsed, "max_batch_ns": max(batch_times)}


def pass_calls(msgs: list[tuple], drain_every: int, gc_on: bool) -> dict:
    """Pass 1b: the same messages through submit()/cancel(), one call each, timed as a batch."""
    engine = new_engine()
    chunks = batches(as_calls(engine, msgs), drain_every)
    drain = engine.drain_level_changes
    report_every = max(1, len(chunks) // 5)
    gc_quiet(gc_on)
    start = time.perf_counter()
    for k, chunk in enumerate(chunks):
        for fn, args in chunk:
            fn(*args)
        drain()
        if k % report_every == 0 and k:
            log(f"  pass 1b: {k * drain_every:,} messages")
    elapsed = time.perf_counter() - start
    gc_restore()
    return {"state": book_state(engine), "elapsed": elapsed}


def pass_latency(msgs: list[tuple], drain_every: int, gc_on: bool) -> dict:
    """Pass 2: each message timed alone (one-message API) with perf_counter_ns."""
    engine = new_engine()
    calls = as_calls(engine, msgs)
    drain = engine.drain_level_changes
    pc = time.perf_counter_ns
    lat = [0] * len(calls)
    fills = rejects = 0
    drain_max = 0
    report_every = max(1, len(calls) // 5)
    gc_quiet(gc_on)
    for i, (fn, args) in enumerate(calls):
        t0 = pc()
        events = fn(*args)
        t1 = pc()
        lat[i] = t1 - t0
        for ev in events:
            if ev[0] == FILL:
                fills += 1
            elif ev[0] == REJECTED:
                rejects += 1
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
        "drain_max": drain_max,
    }


def book_state(engine: Engine) -> tuple:
    bids, asks = engine.depth(SYMBOL, 1_000_000)
    return len(engine), len(bids), len(asks), tuple(bids), tuple(asks), engine.last_price(SYMBOL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-every", type=int, default=100)
    parser.add_argument("--gc-on", action="store_true", help="leave the default GC running")
    opts = parser.parse_args(argv)
    n = opts.messages

    log(f"generating {n:,} messages, seed {opts.seed}")
    msgs = generate(n, opts.seed)
    log("pass 1 (Engine.process, batches)")
    p1 = pass_batch(msgs, opts.drain_every, opts.gc_on)
    log("pass 1b (submit()/cancel(), one call per message)")
    p1b = pass_calls(msgs, opts.drain_every, opts.gc_on)
    log("pass 2 (latency, one call per message, each timed)")
    p2 = pass_latency(msgs, opts.drain_every, opts.gc_on)
    states = {p["state"] for p in (p1, p1b, p2)}
    if len(states) != 1:
        log("ERROR: the passes ended in different books (non-determinism)")
        return 1
    overhead = timer_overhead_ns()

    rate = n / p1["elapsed"]
    lat = p2["lat"]
    size, nbids, nasks, *_ = p2["state"]
    gc_mode = "default GC" if opts.gc_on else "gc.freeze() + gc.disable()"
    p50, p99, p999, pmax = pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999), lat[-1]
    print(f"matching engine benchmark: {n:,} messages, seed {opts.seed}, {gc_mode}")
    print(f"  drain_level_changes every {opts.drain_every} messages (included in the timing)")
    rate_calls = n / p1b["elapsed"]
    print(f"  throughput, process() in batches:  {rate:,.0f} messages/s  ({p1['elapsed']:.3f} s)")
    print(
        f"  throughput, submit()/cancel():     {rate_calls:,.0f} messages/s  "
        f"({p1b['elapsed']:.3f} s)"
    )
    print(
        f"  latency (pass 2, per call):  p50 {p50 / 1000:.2f} us  p99 {p99 / 1000:.2f} us  "
        f"p99.9 {p999 / 1000:.2f} us  max {pmax / 1000:.1f} us"
    )
    print(f"  perf_counter_ns overhead:    {overhead} ns per timed call (included above)")
    print(
        f"  longest pause: {pmax / 1e6:.3f} ms (single call, pass 2); "
        f"{p1['max_batch_ns'] / 1e6:.3f} ms (slowest {opts.drain_every}-message batch, pass 1); "
        f"slowest drain {p2['drain_max'] / 1000:.1f} us"
    )
    print(f"  book at end: {size:,} live orders, {nbids} bid levels, {nasks} ask levels")
    print(
        f"  fills: {p2['fills']:,}   rejects (cancels of already-filled orders): {p2['rejects']:,}"
    )
    print(
        f"  vs PyLOB ~{PYLOB_RATE:,}/s: {rate / PYLOB_RATE:.1f}x   "
        f"vs the brief's ~{BRIEF_RATE:,}/s: {rate / BRIEF_RATE:,.0f}x"
    )
    ok = rate >= 1_000_000 and p99 < 5_000 and max(pmax, 0) < 5_000_000
    print(
        f"SUMMARY: {rate:,.0f} msg/s, p50 {p50 / 1000:.2f} us, p99 {p99 / 1000:.2f} us, "
        f"p99.9 {p999 / 1000:.2f} us, max pause {pmax / 1e6:.2f} ms, {p2['fills']:,} fills, "
        f"book {size:,} orders - targets (>=1M msg/s, p99<5us, pause<5ms) "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
