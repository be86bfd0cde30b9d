"""Services that `manage.py serve` runs inside Daphne's event loop, beside the web app.

Each entry is an `async def run(stop: asyncio.Event)`; the other parts of the platform (price
feed, market simulator) add theirs here. In the embedded default the channel layer is in
memory, so everything that talks over it must share this one process.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable

from django.conf import settings
from django.utils.module_loading import import_string

WORKER = "matching worker"
Service = Callable[[asyncio.Event], Awaitable[None]]


def background_services() -> list[tuple[str, str]]:
    """(name, dotted path) of the services to start, honouring SIMULATE=0 and --no-worker."""
    services = [(WORKER, "trading_app.matching_worker.service.run_embedded_worker")]
    services += list(getattr(settings, "EXTRA_BACKGROUND_SERVICES", []))
    if os.environ.get("SIMULATE", "1") != "0":
        services += list(getattr(settings, "SIMULATION_SERVICES", []))
    return services


class ServiceGroup:
    """The in-process services of one server process, started together and stopped in order:
    the services that send orders (simulator, strategy runs) stop first, withdrawing their
    resting orders; the matching worker stops after them, so their last cancels are applied
    rather than left on the book. `serve` and an ASGI server's lifespan (lifespan_app) share it.
    """

    def __init__(self, services: Iterable[tuple[str, str | Service]]) -> None:
        self.services = list(services)
        self._stop, self._worker_stop = asyncio.Event(), asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._worker_tasks: list[asyncio.Task] = []

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.services]

    def start(self, on_end: Callable[[str, asyncio.Task], None] | None = None) -> None:
        """Start every service in the running event loop."""
        for name, service in self.services:
            run = import_string(service) if isinstance(service, str) else service
            is_worker = name == WORKER
            task = asyncio.ensure_future(run(self._worker_stop if is_worker else self._stop))
            if on_end is not None:
                task.add_done_callback(lambda t, n=name: on_end(n, t))
            (self._worker_tasks if is_worker else self._tasks).append(task)

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)
        self._worker_stop.set()
        if self._worker_tasks:
            await asyncio.wait(self._worker_tasks, timeout=timeout)


def lifespan_app(
    get_application: Callable[[], Callable],
    services: Callable[[], Iterable[tuple[str, str | Service]]] = background_services,
) -> Callable:
    """An ASGI application that runs `services` for as long as an ASGI server's lifespan
    (uvicorn --lifespan on): `serve`'s process layout under another server. The Django
    application is made on first use, after the server has imported this module."""
    state: dict = {}

    async def app(scope, receive, send) -> None:
        if "application" not in state:
            state["application"] = get_application()
        if scope["type"] != "lifespan":
            await state["application"](scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                state["group"] = ServiceGroup(services())
                state["group"].start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if "group" in state:
                    await state["group"].stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return app
