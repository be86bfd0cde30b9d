"""`manage.py serve` (what `make run` runs) stops in order: the market simulator withdraws its
resting orders and the matching worker applies those cancels before it stops, so a restart with
SIMULATE=0 finds no simulator order left on the book. Runs the real command in a child process
on its own embedded SQLite database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPEN_SIMULATOR_ORDERS = (
    "SELECT count(*) FROM trading_app_order "
    "WHERE origin = 'simulator' AND status IN ('accepted', 'new', 'partially_filled')"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def open_simulator_orders(db: Path) -> int:
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute(OPEN_SIMULATOR_ORDERS).fetchone()[0]


@pytest.fixture
def var_dir():
    path = Path(tempfile.mkdtemp(prefix="tradingsim-serve-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_sigterm_withdraws_the_simulators_orders_before_the_worker_stops(var_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        TRADINGSIM_VAR_DIR=str(var_dir),
        SIMULATOR_RATE="2",
        SIMULATOR_SYMBOLS="",
        SIMULATOR_MARKET_MAKERS="2",
    )
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["bootstrap_demo"]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = var_dir / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [*manage, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    db = var_dir / "db.sqlite3"
    try:
        deadline = time.monotonic() + 60
        while True:  # up, and the simulator's market makers are quoting
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    pass
                if open_simulator_orders(db) >= 20:
                    break
            except (OSError, sqlite3.OperationalError):
                pass
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        server.send_signal(signal.SIGTERM)
        assert server.wait(40) == 0 or server.returncode in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert open_simulator_orders(db) == 0, log.read_text()[-3000:]


def test_sigterm_under_rest_load_answers_or_refuses_and_exits(var_dir: Path) -> None:
    """Clients keep POSTing orders while serve is told to stop: it must exit (it once hung for
    good, request threads waiting on the stopped event loop), and every order it answered 201
    for must be in the database."""
    import json
    import threading
    import uuid

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TRADINGSIM_VAR_DIR=str(var_dir), SIMULATE="0")
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    boot = subprocess.run(
        [*manage, "bootstrap_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    token = next(
        line.split("demo token:")[1].strip()
        for line in boot.stdout.splitlines()
        if "demo token:" in line
    )
    port = free_port()
    log = var_dir / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [*manage, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    accepted: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()

    def post_orders(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            coid = f"t{n}-{i}-{uuid.uuid4().hex[:6]}"
            body = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 1,
                    "limit_price": "185.00", "time_in_force": "gtc", "client_order_id": coid}  # fmt: skip
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/orders/",
                data=json.dumps(body).encode(),
                headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    statuses.append(response.status)
                    if response.status == 201:
                        accepted.append(coid)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
            except OSError:
                time.sleep(0.05)  # refused or cut off: the server is going away

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
        clients = [threading.Thread(target=post_orders, args=(n,)) for n in range(4)]
        for client in clients:
            client.start()
        while len(accepted) < 40:
            assert time.monotonic() < deadline, (statuses[-10:], log.read_text()[-3000:])
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail("serve did not exit within 30 s of SIGTERM\n" + log.read_text()[-3000:])
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(10)
    for client in clients:
        client.join(10)
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    with sqlite3.connect(var_dir / "db.sqlite3", timeout=10) as conn:
        stored = {row[0] for row in conn.execute("SELECT client_order_id FROM trading_app_order")}
    assert set(accepted) <= stored
