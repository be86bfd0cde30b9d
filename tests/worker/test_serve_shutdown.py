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
