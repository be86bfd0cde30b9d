"""One matching worker per shard per database: the single-writer rule, enforced.

Each book has one writer (docs/architecture.md). Two workers on one shard of one database, such
as `make run` and a `run_strategy` that hosts its own worker because the in-memory channel layer
cannot reach the server's, would both book the same accepted orders: over-filled orders,
duplicate sequence numbers. So a worker holds a lease on its shard for as long as it runs:
- PostgreSQL: a session advisory lock, on a connection of its own (works across machines);
- SQLite: an exclusive flock on a file beside the database.
Both are released by the operating system or the server when the process dies, even by SIGKILL,
so a restarted worker after a crash gets its shard back at once.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from django.db import connections

LOCK_CLASS = 0x7453494D  # "tSIM": the advisory lock's first key; the shard is the second
POLL_SECONDS = 0.2


class ShardBusy(RuntimeError):
    """Another worker holds the shard on this database."""


class ShardLease:
    def __init__(self, shard: int, alias: str = "default") -> None:
        self.shard = shard
        self.alias = alias
        self._db = None  # PostgreSQL: the lock's own connection
        self._fd: int | None = None  # SQLite: the locked file

    @property
    def _vendor(self) -> str:
        return connections[self.alias].vendor

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lease, waiting up to `wait` seconds for a holder to go; raise ShardBusy."""
        deadline = time.monotonic() + wait
        while not self._try():
            if time.monotonic() >= deadline:
                raise ShardBusy(
                    f"shard {self.shard} of this database is held by another matching worker "
                    f"({self._holder()}): one writer per book"
                )
            time.sleep(POLL_SECONDS)

    def release(self) -> None:
        if self._db is not None:
            self._db.close()  # the session ends, and its advisory lock with it
            self._db = None
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases its flock
            self._fd = None

    def __enter__(self) -> ShardLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _try(self) -> bool:
        if self._vendor == "postgresql":
            return self._try_postgres()
        if self._vendor == "sqlite":
            return self._try_file()
        return True  # no lease on other databases (none is configured by the project)

    def _try_postgres(self) -> bool:
        db = connections.create_connection(self.alias)
        db.inc_thread_sharing()  # released from whichever thread the worker ends on
        db.ensure_connection()
        raw = db.connection
        raw.autocommit = True
        held = raw.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, self.shard)
        ).fetchone()[0]
        if held:
            self._db = db
        else:
            db.close()
        return bool(held)

    def _lock_path(self) -> Path:
        name = str(connections[self.alias].settings_dict["NAME"])
        return Path(f"{name}.matching-shard-{self.shard}.lock")

    def _try_file(self) -> bool:
        import fcntl

        fd = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def _holder(self) -> str:
        """Who holds the lease, as far as can be told."""
        with contextlib.suppress(Exception):
            if self._vendor == "postgresql":
                with connections[self.alias].cursor() as cursor:
                    cursor.execute(
                        "SELECT a.pid, coalesce(host(a.client_addr), 'local socket') "
                        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s "
                        "AND l.granted",
                        (LOCK_CLASS, self.shard),
                    )
                    row = cursor.fetchone()
                if row:
                    return f"PostgreSQL session {row[0]} from {row[1]}"
            else:
                pid = self._lock_path().read_text().strip()
                if pid:
                    return f"process {pid}"
        return "unknown process"


def check_shards_free(shards: list[int]) -> None:
    """Raise ShardBusy if another worker runs any of these shards (a check, not a hold)."""
    for shard in shards:
        with ShardLease(shard) as lease:
            lease.acquire()
