"""Running the exchange in-process for a command, when the channel layer cannot reach `serve`.

The embedded default's in-memory channel layer is per process: ``manage.py run_strategy`` or
``manage.py simulate_market`` in a second terminal would talk to nobody. In that case the
command hosts what ``serve`` would run (the matching worker, the price feed and, unless
SIMULATE=0, the market simulator) in its own event loop, and says so. With REDIS_URL set, the
command is a plain client of the worker that ``serve`` (or ``run_matching``) runs.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("tradingsim.strategies")

#: background services that only make sense inside `serve`
SERVE_ONLY = frozenset({"strategy runs"})

NOTE = (
    "note: the channel layer is in-memory (no REDIS_URL), so this process runs its own "
    "matching worker{extra}. Do not run `manage.py serve` on the same database at the same "
    "time; to trade beside a running server, set REDIS_URL for both{api}."
)


class WorkerElsewhere(RuntimeError):
    """A matching worker already runs on this database, out of this process's reach."""


def ensure_no_worker_elsewhere(instead: str) -> None:
    """Raise WorkerElsewhere if another process runs the matching worker on this database.

    This process would host a second writer of the same books (and could not reach the first
    over the in-memory layer): refuse before anything is created. `instead` says what to do.
    """
    from trading_app.matching_worker.lease import ShardBusy, check_shards_free

    try:
        check_shards_free(list(range(settings.MATCHING_SHARDS)))
    except ShardBusy as exc:
        raise WorkerElsewhere(
            f"a matching worker already runs on this database ({exc}), most likely `make run`. "
            "With the in-memory channel layer this process cannot send it orders, and a second "
            f"worker would corrupt the books. {instead}, or set REDIS_URL for both processes."
        ) from None


def layer_is_in_memory() -> bool:
    return "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]


def embedded_services(*, simulator: bool) -> list[tuple[str, str]]:
    """What `serve` runs in the background, minus the serve-only parts (and the simulator)."""
    from trading_app.background import background_services

    names = set(SERVE_ONLY)
    if not simulator:
        names.add("market simulator")
    return [(name, path) for name, path in background_services() if name not in names]


def start_services(services: list[tuple[str, str]], stop: asyncio.Event) -> list[asyncio.Task]:
    tasks = []
    for name, path in services:
        task = asyncio.ensure_future(import_string(path)(stop))
        task.add_done_callback(lambda t, n=name: _report_end(n, t))
        tasks.append(task)
    return tasks


def _report_end(name: str, task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped with an error", name, exc_info=task.exception())
