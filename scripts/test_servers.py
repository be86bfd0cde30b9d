"""Start throwaway PostgreSQL and Redis servers for the test suite, and stop them afterwards.

Installs the Debian packages when the binaries are missing (the machines run as root), puts the
data in a temporary directory, binds to free loopback ports, and turns fsync off: these are
test servers, the data dies with them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

APT_PACKAGES = {"postgresql": "initdb", "redis-server": "redis-server", "chromium": "chromium"}


def log(message: str) -> None:
    print(f"[test-servers] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def missing_packages() -> list[str]:
    missing = []
    for package, binary in APT_PACKAGES.items():
        present = pg_bin(binary) if package == "postgresql" else shutil.which(binary)
        if not present:
            missing.append(package)
    return missing


def ensure_packages() -> None:
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"missing Debian packages {missing}: run as root or install them")
    log(f"installing {' '.join(missing)} from Debian packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
    )


def _run_as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # the server refuses to run as root
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, **kwargs)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL of its own in a temporary directory, for a benchmark: its DATABASE_URL.
    Installs the Debian package first if it is missing; removes everything on exit."""
    ensure_packages()
    workdir = Path(tempfile.mkdtemp(prefix="tradingsim-bench-"))
    workdir.chmod(0o755)  # the postgres user must reach its data directory inside
    (workdir / "pg").mkdir()
    try:
        with postgres_server(workdir / "pg") as url:
            yield url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    data = workdir / "pgdata"
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    start = time.monotonic()
    _run_as_postgres(
        [
            pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run_as_postgres(
        [
            pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(workdir / "pg.log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        stdout=subprocess.DEVNULL,
    )
    log(f"PostgreSQL on 127.0.0.1:{port} ({time.monotonic() - start:.1f}s)")
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run_as_postgres(
            [pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            stdout=subprocess.DEVNULL,
        )
        log("PostgreSQL stopped")


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    pidfile = workdir / "redis.pid"
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(workdir / "redis.log"),
            "--dir",
            str(workdir),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not answer PING within 10 s")
        time.sleep(0.05)
    log(f"Redis on 127.0.0.1:{port}")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), 15)
        log("Redis stopped")


@contextlib.contextmanager
def test_servers() -> Iterator[dict[str, str]]:
    """DATABASE_URL and REDIS_URL of freshly started servers, reusing given ones if set."""
    ensure_packages()
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        workdir = Path(tempfile.mkdtemp(prefix="tradingsim-test-"))
        workdir.chmod(0o755)  # the postgres user must reach its data directory inside
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        pg_dir, redis_dir = workdir / "pg", workdir / "redis"
        pg_dir.mkdir()
        redis_dir.mkdir()
        env["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL") or stack.enter_context(
            postgres_server(pg_dir)
        )
        env["REDIS_URL"] = os.environ.get("TEST_REDIS_URL") or stack.enter_context(
            redis_server(redis_dir)
        )
        yield env
