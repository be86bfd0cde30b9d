"""WebSocket order entry under load: N clients on loopback, each sending orders, waiting for acks.

    .venv/bin/python bench/ws_orders.py                       # 500 clients, 20 s, Daphne (serve)
    .venv/bin/python bench/ws_orders.py --mode batch          # submit_batch frames, 100 orders each
    .venv/bin/python bench/ws_orders.py --server uvicorn      # the same app under uvicorn
    .venv/bin/python bench/ws_orders.py --url ws://127.0.0.1:8000/ws/orders/   # a running server

Without --url the benchmark starts its own server in a subprocess with a fresh var dir (SQLite,
in-memory channel layer: `make run`'s configuration): migrate, bootstrap_demo, one account per
client (bulk-created, so the risk gate's per-account rate limit is never the bottleneck), then
`manage.py serve` (Daphne with the matching worker in the same event loop). `--server uvicorn`
runs `uvicorn bench.ws_orders:uvicorn_app`: the same Django/Channels application with the
matching worker started from ASGI lifespan in uvicorn's loop, i.e. the same process layout as
`serve`, so the two servers are compared like for like. With REDIS_URL (and DATABASE_URL) in the
environment the layer is Redis and `--worker separate` runs `manage.py run_matching` in its own
process (the production layout) instead of in the server.

Each single-mode client keeps `--in-flight` orders outstanding (default 1: send, wait for the
acknowledgement, send the next); the latency of an order is submit -> its first report (the
worker's "new", "fill" or "rejected", sent after the batch holding it committed). Orders are day
limits on the six demo symbols within +-0.5% of the reference price, so about a third cross and
fill. Batch mode sends `submit_batch` frames of `--batch-size` orders and asks for batched
reports (`?format=batch`). Clients run in `--procs` asyncio processes (uvloop, the `websockets`
library). At the end every acknowledged order is looked up in the database.

Progress goes to stderr, the figures and a one-line summary to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SYMBOLS = {"AAPL": 190, "MSFT": 420, "GOOG": 170, "TSLA": 250, "AMZN": 185, "SPY": 560}
BRIEF_002 = "brief 002: ~6,000 orders/s, p50 8 ms, p95 20 ms (500 clients, bigger machine, nothing persisted)"
TARGET = "target: >= 6,000 orders/s, p99 < 50 ms at 500 clients, every order persisted"
BATCH_TARGET = "target: 50,000 orders/s with submit_batch"


def log(message: str) -> None:
    print(f"[ws_orders] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------ accounts (Django)


def _django(env: dict[str, str] | None = None) -> None:
    if env:
        os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingSim_project.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def make_accounts(count: int, prefix: str) -> list[dict]:
    """Bulk-create users with accounts and tokens (no password hashing: 500 would take minutes)."""
    import binascii
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from trading_app.models import Account

    user_model = get_user_model()
    names = [f"{prefix}{i:04d}" for i in range(count)]
    with transaction.atomic():
        existing = set(
            user_model.objects.filter(username__in=names).values_list("username", flat=True)
        )
        fresh = [user_model(username=n, password="!") for n in names if n not in existing]
        user_model.objects.bulk_create(fresh)
        users = {u.username: u for u in user_model.objects.filter(username__in=names)}
        have_account = set(
            Account.objects.filter(user__in=users.values()).values_list("user_id", flat=True)
        )
        Account.objects.bulk_create(
            [
                Account(user=u, cash=Decimal("100000000"))
                for u in users.values()
                if u.pk not in have_account
            ]
        )
        have_token = set(
            Token.objects.filter(user__in=users.values()).values_list("user_id", flat=True)
        )
        Token.objects.bulk_create(
            [
                Token(user=u, key=binascii.hexlify(os.urandom(20)).decode())
                for u in users.values()
                if u.pk not in have_token
            ]
        )
    tokens = dict(
        Token.objects.filter(user__in=users.values()).values_list("user__username", "key")
    )
    accounts = dict(
        Account.objects.filter(user__in=users.values()).values_list("user__username", "id")
    )
    return [{"username": n, "token": tokens[n], "account_id": accounts[n]} for n in names]


def count_persisted(order_ids: list[str]) -> int:
    from trading_app.models import Order

    found = 0
    for start in range(0, len(order_ids), 5000):
        found += Order.objects.filter(id__in=order_ids[start : start + 5000]).count()
    return found


# ------------------------------------------------------------------------------ the server


class Server:
    """`manage.py serve` (Daphne) or uvicorn, in a subprocess with a var dir of its own."""

    def __init__(self, kind: str, worker: str, port: int, var_dir: Path, env: dict) -> None:
        self.kind, self.worker, self.port, self.var_dir = kind, worker, port, var_dir
        self.env = {
            **os.environ,
            **env,
            "TRADINGSIM_VAR_DIR": str(var_dir),
            "SIMULATE": "0",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen] = []

    def manage(self, *args: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        log_file = open(self.var_dir / "server.log", "ab")  # noqa: SIM115 (closed with the process)
        if self.worker == "separate":
            self.procs.append(
                subprocess.Popen(
                    [PYTHON, "manage.py", "run_matching"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log_file,
                    stderr=log_file,
                )
            )
        if self.kind == "daphne" and self.worker != "stub":
            cmd = [PYTHON, "manage.py", "serve", "--port", str(self.port)]
            if self.worker == "separate":
                cmd.append("--no-worker")
        elif self.kind == "daphne":
            cmd = [PYTHON, __file__, "--as-server", "daphne", "--port", str(self.port)]
        else:
            cmd = [
                PYTHON, "-m", "uvicorn", "bench.ws_orders:uvicorn_app", "--port", str(self.port),
                "--log-level", "warning", "--no-access-log", "--ws", "websockets",
                "--ws-max-queue", "100000", "--lifespan", "on",
            ]  # fmt: skip
        self.env["BENCH_WORKER"] = self.worker
        self.procs.append(
            subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log_file, stderr=log_file)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as r:
                    if r.status == 200:
                        time.sleep(1.0)  # the worker's recovery runs right after start
                        return
            except OSError:
                time.sleep(0.2)
            if any(p.poll() is not None for p in self.procs):
                break
        raise SystemExit(f"server did not start; see {self.var_dir / 'server.log'}")

    @property
    def pid(self) -> int:
        return self.procs[-1].pid

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if self.kind == "daphne" else signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _application():
    from tradingSim_project.asgi import application

    return application


def _bench_services() -> list:
    """The worker the server process runs: the real one, the stub, or none (separate)."""
    kind = os.environ.get("BENCH_WORKER", "embedded")
    if kind == "stub":
        return [("matching worker", stub_worker)]
    if kind == "embedded":
        return [("matching worker", "trading_app.matching_worker.service.run_embedded_worker")]
    return []


async def stub_worker(stop: asyncio.Event) -> None:
    """Acknowledges every order at once, persisting nothing: the gateway's own ceiling.

    Same contract as the real worker (shard inbox in, `trade.updates` per account out, one
    message per account per batch), none of its work; like the brief's 002 emulator.
    """
    from channels.layers import get_channel_layer
    from django.utils import timezone

    layer = get_channel_layer()
    inbox: asyncio.Queue = asyncio.Queue()

    async def receive_forever() -> None:
        while True:
            inbox.put_nowait(await layer.receive("matching.shard.0"))

    receiver = asyncio.ensure_future(receive_forever())
    try:
        while not stop.is_set():
            try:
                batch = [await asyncio.wait_for(inbox.get(), 0.25)]
            except TimeoutError:
                continue
            while not inbox.empty():
                batch.append(inbox.get_nowait())
            now = timezone.now().isoformat()
            by_account: dict[int, list[dict]] = {}
            for message in batch:
                for p in message.get("orders") or [message.get("order") or {}]:
                    if "account_id" not in p:
                        continue
                    report = {
                        k: p[k]
                        for k in (
                            "id",
                            "client_order_id",
                            "symbol",
                            "side",
                            "type",
                            "qty",
                            "limit_price",
                        )
                    }
                    report.update(status="new", filled_qty=0, created_at=now, updated_at=now)
                    by_account.setdefault(p["account_id"], []).append(
                        {"event": "new", "timestamp": now, "order": report}
                    )
            await asyncio.gather(
                *(
                    layer.group_send(f"account.{a}", {"type": "trade.updates", "updates": u})
                    for a, u in by_account.items()
                )
            )
    finally:
        receiver.cancel()


def serve_daphne(port: int) -> None:
    """Daphne as `manage.py serve` runs it, with the bench's worker choice (the stub)."""
    _django()
    from channels.routing import get_default_application
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server as DaphneServer
    from twisted.internet import defer, reactor

    from trading_app.background import ServiceGroup

    group = ServiceGroup(_bench_services())

    def start() -> None:
        group.start()

    def drain():
        return defer.Deferred.fromFuture(asyncio.ensure_future(group.stop()))

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", drain)
    DaphneServer(
        application=get_default_application(),
        endpoints=build_endpoint_description_strings(host="127.0.0.1", port=port),
        signal_handlers=True,
        action_logger=None,
        http_timeout=None,
        websocket_timeout=86400,
        websocket_connect_timeout=20,
        application_close_timeout=10,
        verbosity=0,
    ).run()


# ------------------------------------------------------------------------------ the clients


def order(rng: random.Random, coid: str) -> dict:
    symbol = rng.choice(list(SYMBOLS))
    ref = SYMBOLS[symbol]
    side = rng.choice(("buy", "sell"))
    price = round(ref * (1 + rng.uniform(-0.005, 0.005)), 2)
    return {
        "symbol": symbol,
        "side": side,
        "type": "limit",
        "qty": rng.randint(1, 10),
        "limit_price": f"{price:.2f}",
        "time_in_force": "day",
        "client_order_id": coid,
    }


ACK_EVENTS = {"new", "fill", "partial_fill", "rejected", "canceled", "expired"}


class Client:
    def __init__(self, index: int, url: str, token: str, args, stop_at: float, started_at: float):
        self.index, self.url, self.token, self.args = index, url, token, args
        self.stop_at, self.started_at = stop_at, started_at
        self.rng = random.Random(index)
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.acked_ids: list[str] = []
        self.errors: dict[str, int] = {}
        self.events: dict[str, int] = {}
        self.counter = 0
        self.in_window = 0  # acknowledgements received during the measured window
        self.window = asyncio.Semaphore(args.in_flight if args.mode == "single" else 1)

    async def run(self, ws) -> None:
        import orjson

        reader = asyncio.ensure_future(self.read(ws, orjson))
        try:
            if self.args.mode == "single":
                await self.send_single(ws, orjson)
            else:
                await self.send_batches(ws, orjson)
            # wait (bounded) for the last acknowledgements
            deadline = time.perf_counter() + 10
            while self.sent and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
        finally:
            reader.cancel()

    async def acquire(self) -> bool:
        """Wait for room in the window, but never past the end of the run."""
        left = self.stop_at - time.perf_counter()
        if left <= 0:
            return False
        try:
            await asyncio.wait_for(self.window.acquire(), left)
        except TimeoutError:
            return False
        return time.perf_counter() < self.stop_at

    async def send_single(self, ws, orjson) -> None:
        while await self.acquire():
            self.counter += 1
            coid = f"c{self.index}-{self.counter}"
            self.sent[coid] = time.perf_counter()
            body = order(self.rng, coid)
            body["order_type"] = body.pop("type")
            await ws.send(orjson.dumps({"type": "submit", **body}).decode())

    async def send_batches(self, ws, orjson) -> None:
        size = self.args.batch_size
        while await self.acquire():
            now = time.perf_counter()
            orders = []
            for _ in range(size):
                self.counter += 1
                coid = f"c{self.index}-{self.counter}"
                self.sent[coid] = now
                orders.append(order(self.rng, coid))
            self.pending_batch = size
            await ws.send(orjson.dumps({"type": "submit_batch", "orders": orders}).decode())

    def _acked(self, coid: str, now: float, update: dict) -> None:
        sent = self.sent.pop(coid, None)
        if sent is None:
            return
        if sent >= self.started_at:
            self.latencies.append(now - sent)
        if self.started_at <= now <= self.stop_at:
            self.in_window += 1
        order_id = (update.get("order") or {}).get("id") or update.get("id")
        if order_id and update.get("type") != "error":
            self.acked_ids.append(order_id)
        if self.args.mode == "single":
            self.window.release()
        else:
            self.pending_batch -= 1
            if self.pending_batch == 0:
                self.window.release()

    async def read(self, ws, orjson) -> None:
        async for frame in ws:
            now = time.perf_counter()
            message = orjson.loads(frame)
            updates = message["updates"] if message.get("type") == "trade_updates" else [message]
            for update in updates:
                kind = update.get("type")
                if kind == "trade_update":
                    self.events[update["event"]] = self.events.get(update["event"], 0) + 1
                    if update["event"] in ACK_EVENTS:
                        self._acked(update.get("client_order_id"), now, update)
                elif kind == "error":
                    self.errors[update.get("code")] = self.errors.get(update.get("code"), 0) + 1
                    if update.get("client_order_id"):
                        self._acked(update["client_order_id"], now, update)


async def client_process(spec: dict) -> dict:
    """Run this process's share of clients; return raw figures (JSON on stdout)."""
    import websockets

    args = argparse.Namespace(**spec["args"])
    sockets = []
    query = "&format=batch" if args.mode == "batch" else ""
    for start in range(0, len(spec["tokens"]), 50):
        chunk = spec["tokens"][start : start + 50]
        sockets += await asyncio.gather(
            *(
                websockets.connect(
                    f"{spec['url']}?token={token}{query}",
                    origin=spec["origin"],
                    max_queue=None,
                    compression=None,
                    max_size=None,
                    open_timeout=60,
                    ping_interval=None,
                )
                for token in chunk
            )
        )
    for ws in sockets:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "authorized", hello
    # every process starts at the same wall-clock moment
    await asyncio.sleep(max(0.0, spec["start_at"] - time.time()))
    started = time.perf_counter() + args.warmup
    stop_at = time.perf_counter() + args.warmup + args.duration
    clients = [
        Client(spec["first_index"] + i, spec["url"], token, args, stop_at, started)
        for i, token in enumerate(spec["tokens"])
    ]
    t0 = time.perf_counter()
    await asyncio.gather(*(c.run(ws) for c, ws in zip(clients, sockets, strict=True)))
    elapsed = time.perf_counter() - t0
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies = [x for c in clients for x in c.latencies]
    errors: dict[str, int] = {}
    events: dict[str, int] = {}
    for c in clients:
        for k, v in c.errors.items():
            errors[k] = errors.get(k, 0) + v
        for k, v in c.events.items():
            events[k] = events.get(k, 0) + v
    return {
        "latencies": latencies,
        "acked_ids": [i for c in clients for i in c.acked_ids],
        "unacked": sum(len(c.sent) for c in clients),
        "in_window": sum(c.in_window for c in clients),
        "sent": sum(c.counter for c in clients),
        "errors": errors,
        "events": events,
        "elapsed": elapsed,
    }


def run_client_process(spec_path: str) -> None:
    import uvloop

    spec = json.loads(Path(spec_path).read_text())
    result = uvloop.run(client_process(spec))
    Path(spec["out"]).write_text(json.dumps(result))


# ------------------------------------------------------------------------------ main


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def sample_cpu(pids: list[int], stop: list[bool], out: list[float]) -> None:
    import psutil

    procs = [psutil.Process(p) for p in pids]
    for p in procs:
        p.cpu_percent(None)
    while not stop[0]:
        time.sleep(1.0)
        try:
            out.append(sum(p.cpu_percent(None) for p in procs))
        except psutil.Error:
            return


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of measured load")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before measuring"
    )
    parser.add_argument("--mode", choices=("single", "batch"), default="single")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=1, help="outstanding orders per client")
    parser.add_argument("--procs", type=int, default=1, help="client processes")
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default="daphne")
    parser.add_argument("--worker", choices=("embedded", "separate", "stub"), default="embedded",
                        help="separate: run_matching in its own process (needs REDIS_URL); "
                        "stub: acknowledge without persisting (the gateway's ceiling)")  # fmt: skip
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="postgres: a throwaway PostgreSQL (scripts/test_servers.py)")  # fmt: skip
    parser.add_argument(
        "--url", help="a running server's /ws/orders/ URL (accounts are made in its DB)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the var dir")
    parser.add_argument("--as-client", help=argparse.SUPPRESS)
    parser.add_argument("--as-server", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--make-accounts", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.as_client:
        run_client_process(args.as_client)
        return 0
    if args.as_server:
        serve_daphne(args.port)
        return 0
    if args.make_accounts:
        _django()
        print(json.dumps(make_accounts(args.make_accounts, "bench")))
        return 0
    if args.worker == "separate" and not os.environ.get("REDIS_URL"):
        parser.error("--worker separate needs REDIS_URL (the in-memory layer is per process)")
    if args.server == "uvicorn" and args.url:
        parser.error("--server picks the server the benchmark starts; not with --url")

    server = None
    var_dir = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    env = {"TRADINGSIM_VAR_DIR": str(var_dir)} if not args.url else {}
    servers = contextlib.ExitStack()
    cpu: list[float] = []
    try:
        if args.db == "postgres" and not args.url:
            sys.path.insert(0, str(ROOT / "scripts"))
            from test_servers import postgres_server

            var_dir.chmod(0o755)  # the postgres user must reach its data directory inside
            (var_dir / "pg").mkdir()
            env["DATABASE_URL"] = servers.enter_context(postgres_server(var_dir / "pg"))
        if args.url:
            url = args.url
        else:
            port = free_port()
            server = Server(args.server, args.worker, port, var_dir, env)
            log(f"preparing a fresh server in {var_dir} (migrate, bootstrap_demo)")
            server.manage("migrate", "--noinput")
            server.manage("bootstrap_demo")
            url = f"ws://127.0.0.1:{port}/ws/orders/"
        log(f"creating {args.clients} accounts")
        made = subprocess.run(
            [PYTHON, __file__, "--make-accounts", str(args.clients)],
            cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True, text=True,
        )  # fmt: skip
        accounts = json.loads(made.stdout)
        if server is not None:
            label = f"{args.server}, worker {args.worker}"
            log(f"starting the server ({label}) on port {server.port}")
            server.start()
        host = url.split("/")[2]
        specs, outs = [], []
        start_at = time.time() + 3 + args.clients / 150
        per = -(-len(accounts) // args.procs)
        for p in range(args.procs):
            chunk = accounts[p * per : (p + 1) * per]
            if not chunk:
                continue
            out = var_dir / f"client-{p}.json"
            spec = {
                "url": url,
                "origin": f"http://{host}",
                "tokens": [a["token"] for a in chunk],
                "first_index": p * per,
                "start_at": start_at,
                "out": str(out),
                "args": {
                    k: getattr(args, k)
                    for k in ("mode", "batch_size", "in_flight", "duration", "warmup")
                },
            }
            spec_path = var_dir / f"client-{p}.spec.json"
            spec_path.write_text(json.dumps(spec))
            specs.append(
                subprocess.Popen([PYTHON, __file__, "--as-client", str(spec_path)], cwd=ROOT)
            )
            outs.append(out)
        log(
            f"{args.clients} clients in {len(specs)} process(es), mode {args.mode}, "
            f"{args.warmup:.0f}s warm-up + {args.duration:.0f}s measured"
        )
        stop_flag = [False]
        sampler = None
        if server is not None:
            import threading

            pids = [p.pid for p in server.procs]
            sampler = threading.Thread(target=sample_cpu, args=(pids, stop_flag, cpu), daemon=True)
            time.sleep(max(0.0, start_at - time.time()))
            sampler.start()
        codes = [p.wait() for p in specs]
        stop_flag[0] = True
        if any(codes):
            raise SystemExit(f"a client process failed: {codes}")
        results = [json.loads(o.read_text()) for o in outs]
    finally:
        if server is not None:
            log("stopping the server")
            server.stop()
        results_ready = "results" in locals()
    if results_ready:
        summary = summarise(args, results, env, cpu)
    servers.close()
    if not args.keep and not args.url:
        shutil.rmtree(var_dir, ignore_errors=True)
    if not results_ready:
        return 1
    print(summary)
    return 0


def summarise(args, results: list[dict], env: dict, cpu: list[float]) -> str:
    """The figures, checked against the database (while it still runs)."""
    out: list[str] = []

    latencies = sorted(x for r in results for x in r["latencies"])
    acked_ids = [i for r in results for i in r["acked_ids"]]
    errors: dict[str, int] = {}
    events: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k, v in r["events"].items():
            events[k] = events.get(k, 0) + v
    measured = sum(r["in_window"] for r in results)
    rate = measured / args.duration
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (0.50, 0.95, 0.99))
    mean = statistics.fmean(latencies) * 1000 if latencies else float("nan")
    if args.worker == "stub":
        persisted = 0  # the stub persists nothing, by design
    else:
        log(f"checking that {len(acked_ids)} acknowledged orders are in the database")
        _django(env)
        persisted = count_persisted(acked_ids)

    where = args.url or f"{args.server} (manage.py serve layout), worker {args.worker}"
    if args.mode == "batch":
        where += f", submit_batch of {args.batch_size}"
    out.append(f"ws_orders: {args.clients} clients, {args.duration:.0f} s measured, {where}")
    out.append(
        f"  orders acknowledged   {measured:,} during the measured window -> {rate:,.0f} orders/s"
    )
    out.append(
        f"  ack latency (ms)      p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  mean {mean:.1f}  max {latencies[-1] * 1000 if latencies else float('nan'):.1f}"
    )
    out.append(
        f"  reports               {json.dumps(events, sort_keys=True)}  errors {json.dumps(errors, sort_keys=True)}"
    )
    out.append(
        f"  unacknowledged at end {sum(r['unacked'] for r in results)}; persisted {persisted:,} of {len(acked_ids):,} acknowledged"
    )
    out.append(
        f"  machine               2 cores shared; load average {os.getloadavg()[0]:.1f} at the end "
        "(other jobs skew every figure)"
    )
    if cpu:
        out.append(
            f"  server CPU            mean {statistics.fmean(cpu):.0f}% (100% = one core), peak {max(cpu):.0f}%"
        )
    out.append(f"  {BRIEF_002}")
    out.append(f"  {BATCH_TARGET if args.mode == 'batch' else TARGET}")
    out.append(
        f"SUMMARY ws_orders mode={args.mode} server={args.server if not args.url else 'url'} clients={args.clients} "
        f"orders/s={rate:.0f} p50={p50:.1f}ms p95={p95:.1f}ms p99={p99:.1f}ms "
        f"persisted={persisted}/{len(acked_ids)}"
    )
    return "\n".join(out)


def __getattr__(name: str):
    """`uvicorn bench.ws_orders:uvicorn_app`: the project's application with serve's
    in-process services (trading_app.background.lifespan_app), made when uvicorn asks for it."""
    if name != "uvicorn_app":
        raise AttributeError(name)
    from trading_app.background import lifespan_app

    return lifespan_app(_application, _bench_services)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
