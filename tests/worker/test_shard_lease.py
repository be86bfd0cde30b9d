"""One matching worker per shard per database: a second one is refused, a crashed one's shard
is free at once, and the commands that would host a second worker refuse to start."""

from __future__ import annotations

import signal
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.worker.processes import ROOT, start_worker, stop, wait_until
from trading_app.matching_worker.lease import LOCK_CLASS, ShardBusy, ShardLease

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_second_lease_on_a_shard_is_refused_until_the_first_is_released():
    with ShardLease(0) as first:
        first.acquire()
        with pytest.raises(ShardBusy, match="shard 0 of this database is held by another"):
            ShardLease(0).acquire(wait=0.3)
        with ShardLease(1) as other_shard:
            other_shard.acquire()  # shards are independent
    with ShardLease(0) as again:
        again.acquire()


def test_a_killed_holders_shard_is_free_at_once(tmp_path):
    """The lease dies with its process, SIGKILL included: no stale lock blocks a restart."""
    if connection.vendor == "postgresql":
        holder = start_worker(log_path=tmp_path / "holder.log")
        held = lambda: _advisory_lock_holders(0) == 1  # noqa: E731
    else:
        code = (
            "import django, sys, time; django.setup()\n"
            "from trading_app.matching_worker.lease import ShardLease\n"
            "ShardLease(0).acquire(); print('held', flush=True); time.sleep(60)\n"
        )
        env = {"DJANGO_SETTINGS_MODULE": "tradingSim_project.settings"}
        holder = _python_with_test_database(code, env)
        assert holder.stdout.readline().strip() == b"held"
        held = lambda: True  # noqa: E731
    try:
        assert wait_until(held, timeout=60), "the holder never took the lease"
        with pytest.raises(ShardBusy):
            ShardLease(0).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with ShardLease(0) as lease:
            lease.acquire(wait=5)
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_second_run_matching_on_the_database_is_refused(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("run_matching as a process is tested on PostgreSQL")
    log = tmp_path / "worker.log"
    first = start_worker(log_path=log)
    try:
        assert wait_until(lambda: _advisory_lock_holders(0) == 1, timeout=60), log.read_text()
        second = start_worker(log_path=tmp_path / "second.log")
        assert second.wait(timeout=30) == 1
        said = (tmp_path / "second.log").read_text()
        assert "held by another matching worker (PostgreSQL session" in said, said
        assert "Traceback" not in said
    finally:
        assert stop(first) == 0, log.read_text()


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "1"],
        ["simulate_market", "--duration", "1"],
        [
            "run_strategy",
            "ma_crossover",
            "--account",
            "lease_trader",
            "--symbol",
            "AAPL",
            "--duration",
            "1",
        ],
    ],  # fmt: skip
)
def test_commands_that_would_host_a_second_worker_refuse(
    command, instruments, make_account, monkeypatch
):
    from algo_trading.django_adapters import embedded

    make_account("lease_trader")
    # The embedded commands host a worker only on the in-memory layer (the SQLite pass's).
    monkeypatch.setattr(embedded, "layer_is_in_memory", lambda: True)
    for name in ("run_strategy", "simulate_market"):
        module = __import__(f"trading_app.management.commands.{name}", fromlist=["x"])
        monkeypatch.setattr(module, "layer_is_in_memory", lambda: True)
    with ShardLease(0) as lease:
        lease.acquire()
        with pytest.raises(CommandError, match="held by another matching worker"):
            call_command(*command, stdout=StringIO(), stderr=StringIO())


def _advisory_lock_holders(shard: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND granted",
            (LOCK_CLASS, shard),
        )
        return cursor.fetchone()[0]


def _python_with_test_database(code: str, env: dict) -> subprocess.Popen:
    """A Python process on this test run's SQLite database (its file name, not the default)."""
    import os

    name = connection.settings_dict["NAME"]
    prelude = (
        f"from django.conf import settings\nsettings.DATABASES['default']['NAME'] = {str(name)!r}\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
    )
