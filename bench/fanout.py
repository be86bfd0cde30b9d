"""Fan-out: one update to 1,000 subscribers of one ticker; how long until the last one has it.

    .venv/bin/python bench/fanout.py                          # /ws/stocks/AAPL/, 1,000 subscribers
    .venv/bin/python bench/fanout.py --stream market_data     # /ws/market_data/AAPL/ (the book)
    .venv/bin/python bench/fanout.py --stalled 50             # plus 50 sockets that never read
    .venv/bin/python bench/fanout.py --server uvicorn         # the same app under uvicorn
    .venv/bin/python bench/fanout.py --url http://127.0.0.1:8000   # a running server

Without --url it starts `manage.py serve` (Daphne, worker and simulated price feed in-process,
SQLite, in-memory layer) with a fresh var dir. `--server uvicorn` runs
`uvicorn bench.fanout:uvicorn_app` (uvloop, the `websockets` protocol) instead: the same
Django/Channels application with the same in-process services (`background_services()`, as
`serve` starts them) run from ASGI lifespan in uvicorn's loop. Updates are the real ones:

- stocks: the simulated feed's price ticks (FEED_TICK_RATE per symbol, 2/s by default); the
  publish time is the tick's own `timestamp`, stamped by the feed just before its group_send.
- market_data: one more client submits a resting limit order over /ws/orders/ every 250 ms; the
  publish time is the l2update's `time`, stamped by the worker after its batch committed, just
  before its group_send. The update is identified by its sequence.

For each update: latency of the last subscriber = max(arrival) - publish time (and the spread,
max - min arrival). p50/p99 over the updates of the run. Clients are asyncio processes (uvloop,
`websockets`) on the same 2-core machine, so they compete with the server for CPU: reading
1,000 frames takes a client process itself a few ms. `--stalled N` adds N sockets that connect
and then never read, to check that they delay nobody (their frames pile up in the server's
transport buffers; the server's memory growth is printed).

Progress on stderr, figures and a one-line summary on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TARGET = "target: p99 < 50 ms for the last of 1,000 subscribers"


def log(message: str) -> None:
    print(f"[fanout] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# ------------------------------------------------------------------------------ client processes


async def subscribers(spec: dict) -> dict:
    """Open this process's share of sockets, record (update key, arrival) for each frame."""
    import websockets

    url, stream = spec["url"], spec["stream"]
    arrivals: dict[str, list[float]] = {}
    published: dict[str, float] = {}
    sockets = []
    for start in range(0, spec["count"], 50):
        sockets += await asyncio.gather(
            *(
                websockets.connect(
                    url, origin=spec["origin"], max_queue=None, compression=None, open_timeout=60
                )
                for _ in range(min(50, spec["count"] - start))
            )
        )
    stalled = []
    for _ in range(spec["stalled"]):
        # a raw TCP socket that does the handshake and then never reads again
        stalled.append(await _stalled_socket(url, spec["origin"]))
    Path(spec["ready"]).write_text("ready")
    stop_at = spec["stop_at"]

    async def read(ws) -> None:
        while True:
            frame = await ws.recv()
            now = time.time()
            m = json.loads(frame)
            if stream == "stocks" and m.get("type") == "price":
                key, stamp = m["timestamp"], m["timestamp"]
            elif stream == "market_data" and m.get("type") == "l2update":
                key, stamp = str(m["sequence"]), m["time"]
            else:
                continue
            arrivals.setdefault(key, []).append(now)
            if key not in published and stamp:
                published[key] = epoch(stamp)

    readers = [asyncio.ensure_future(read(ws)) for ws in sockets]
    await asyncio.sleep(max(0.0, stop_at - time.time()))
    for r in readers:
        r.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    for writer in stalled:
        writer.close()
    return {
        "updates": {
            k: {"published": published[k], "first": min(v), "last": max(v), "n": len(v)}
            for k, v in arrivals.items()
            if k in published
        }
    }


async def _stalled_socket(url: str, origin: str):
    import base64

    host, port_path = url.split("//", 1)[1].split(":", 1)
    port, path = port_path.split("/", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /{path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    writer.transport.pause_reading()  # never read again: the server's buffers fill
    return writer


async def order_trigger(spec: dict) -> None:
    """market_data: one resting limit order every 250 ms changes the book."""
    import websockets

    async with websockets.connect(spec["orders_url"], origin=spec["origin"]) as ws:
        await ws.recv()
        i = 0
        while time.time() < spec["stop_at"] - 1:
            i += 1
            price = f"{182 + (i % 200) * 0.01:.2f}"  # below the market (within the collar): rests
            await ws.send(
                json.dumps(
                    {
                        "type": "submit",
                        "symbol": spec["symbol"],
                        "side": "buy",
                        "order_type": "limit",
                        "qty": 1,
                        "limit_price": price,
                        "time_in_force": "day",
                    }
                )
            )
            await asyncio.sleep(0.25)


def run_client(spec_path: str) -> None:
    import uvloop

    spec = json.loads(Path(spec_path).read_text())
    if spec.get("role") == "trigger":
        uvloop.run(order_trigger(spec))
        return
    result = uvloop.run(subscribers(spec))
    Path(spec["out"]).write_text(json.dumps(result))


# ------------------------------------------------------------------------------ main


def _application():
    from tradingSim_project.asgi import application

    return application


def start_server(var_dir: Path, kind: str = "daphne") -> tuple[subprocess.Popen, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update({"TRADINGSIM_VAR_DIR": str(var_dir), "LOG_LEVEL": "WARNING", "SIMULATE": "0"})
    manage = [PYTHON, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    boot = subprocess.run(
        [*manage, "bootstrap_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    token = re.search(r"demo token: (\w+)", boot.stdout).group(1)
    port = free_port()
    out = open(var_dir / "serve.log", "wb")  # noqa: SIM115 (lives as long as the server)
    if kind == "uvicorn":
        cmd = [
            PYTHON, "-m", "uvicorn", "bench.fanout:uvicorn_app", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--ws", "websockets", "--lifespan", "on",
        ]  # fmt: skip
    else:
        cmd = [*manage, "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return proc, base, token
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start; see {var_dir / 'serve.log'}") from None
            time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--stream", choices=("stocks", "market_data"), default="stocks")
    parser.add_argument("--symbol", default="AAPL")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--procs", type=int, default=2, help="subscriber processes")
    parser.add_argument("--stalled", type=int, default=0, help="extra sockets that never read")
    parser.add_argument(
        "--server",
        choices=("daphne", "uvicorn"),
        default="daphne",
        help="daphne: manage.py serve; uvicorn: bench.fanout:uvicorn_app (same services)",
    )
    parser.add_argument("--url", help="a running server's base URL (market_data needs --token)")
    parser.add_argument("--token", help="an API token for the market_data trigger (with --url)")
    parser.add_argument("--as-client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_client:
        run_client(args.as_client)
        return 0

    var_dir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    server = None
    try:
        if args.url:
            base, token = args.url.rstrip("/"), args.token
        else:
            log(f"starting {args.server} in {var_dir}")
            server, base, token = start_server(var_dir, args.server)
        host = base.split("//", 1)[1]
        ws_base = "ws://" + host
        path = (
            f"/ws/stocks/{args.symbol}/"
            if args.stream == "stocks"
            else f"/ws/market_data/{args.symbol}/"
        )
        connect_time = 5 + args.subscribers / 100
        stop_at = time.time() + connect_time + args.duration
        procs, outs, readies = [], [], []
        per = -(-args.subscribers // args.procs)
        for p in range(args.procs):
            count = min(per, args.subscribers - p * per)
            if count <= 0:
                continue
            spec = {
                "url": ws_base + path,
                "origin": base,
                "stream": args.stream,
                "count": count,
                "stalled": args.stalled if p == 0 else 0,
                "stop_at": stop_at,
                "out": str(var_dir / f"sub-{p}.json"),
                "ready": str(var_dir / f"sub-{p}.ready"),
            }
            spec_path = var_dir / f"sub-{p}.spec.json"
            spec_path.write_text(json.dumps(spec))
            procs.append(
                subprocess.Popen([PYTHON, __file__, "--as-client", str(spec_path)], cwd=ROOT)
            )
            outs.append(Path(spec["out"]))
            readies.append(Path(spec["ready"]))
        log(
            f"{args.subscribers} subscribers of {path} in {len(procs)} process(es), {args.stalled} stalled"
        )
        while not all(r.exists() for r in readies):
            if any(p.poll() not in (None, 0) for p in procs):
                raise SystemExit("a subscriber process failed")
            time.sleep(0.2)
        measure_from = time.time() + 1.0
        rss_before = _rss(server)
        trigger = None
        if args.stream == "market_data":
            spec_path = var_dir / "trigger.spec.json"
            spec_path.write_text(
                json.dumps(
                    {
                        "role": "trigger",
                        "orders_url": f"{ws_base}/ws/orders/?token={token}",
                        "origin": base,
                        "symbol": args.symbol,
                        "stop_at": stop_at,
                    }
                )
            )
            trigger = subprocess.Popen([PYTHON, __file__, "--as-client", str(spec_path)], cwd=ROOT)
        log(f"all connected; measuring until {time.strftime('%H:%M:%S', time.localtime(stop_at))}")
        codes = [p.wait() for p in procs]
        if trigger is not None:
            trigger.wait()
        rss_after = _rss(server)
        if any(codes):
            raise SystemExit(f"a subscriber process failed: {codes}")
        results = [json.loads(o.read_text()) for o in outs]
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT if args.server == "daphne" else signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(var_dir, ignore_errors=True)

    merged: dict[str, dict] = {}
    for r in results:
        for key, u in r["updates"].items():
            m = merged.setdefault(
                key, {"published": u["published"], "first": u["first"], "last": u["last"], "n": 0}
            )
            m["first"], m["last"] = min(m["first"], u["first"]), max(m["last"], u["last"])
            m["n"] += u["n"]
    complete = [
        u for u in merged.values() if u["n"] == args.subscribers and u["published"] >= measure_from
    ]
    incomplete = sum(
        1 for u in merged.values() if u["n"] != args.subscribers and u["published"] >= measure_from
    )
    last = [(u["last"] - u["published"]) * 1000 for u in complete]
    first = [(u["first"] - u["published"]) * 1000 for u in complete]
    spread = [(u["last"] - u["first"]) * 1000 for u in complete]
    print(
        f"fanout: {args.subscribers} subscribers of {path}, {len(complete)} updates measured "
        f"({args.duration:.0f} s, server {args.url or args.server})"
    )
    if not complete:
        print("  no complete update measured")
        return 1
    print(
        f"  last subscriber (ms)   p50 {percentile(last, 0.5):.1f}  p99 {percentile(last, 0.99):.1f}  max {max(last):.1f}"
    )
    print(
        f"  first subscriber (ms)  p50 {percentile(first, 0.5):.1f}  p99 {percentile(first, 0.99):.1f}"
    )
    print(
        f"  first -> last (ms)     p50 {percentile(spread, 0.5):.1f}  p99 {percentile(spread, 0.99):.1f}  mean {statistics.fmean(spread):.1f}"
    )
    print(f"  updates missed by some subscriber: {incomplete}")
    if args.stalled:
        print(
            f"  {args.stalled} stalled sockets (never read); server RSS {rss_before / 1e6:.0f} MB -> {rss_after / 1e6:.0f} MB"
        )
    print(f"  machine: 2 cores shared with the clients; load average {os.getloadavg()[0]:.1f}")
    print(f"  {TARGET}")
    print(
        f"SUMMARY fanout server={'url' if args.url else args.server} stream={args.stream} subscribers={args.subscribers} stalled={args.stalled} "
        f"updates={len(complete)} last_p50={percentile(last, 0.5):.1f}ms last_p99={percentile(last, 0.99):.1f}ms"
    )
    return 0


def _rss(server) -> int:
    if server is None:
        return 0
    try:
        import psutil

        return psutil.Process(server.pid).memory_info().rss
    except Exception:
        return 0


def __getattr__(name: str):
    """`uvicorn bench.fanout:uvicorn_app`: the project's application with serve's
    in-process services (trading_app.background.lifespan_app), made when uvicorn asks for it."""
    if name != "uvicorn_app":
        raise AttributeError(name)
    from trading_app.background import lifespan_app

    return lifespan_app(_application)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
