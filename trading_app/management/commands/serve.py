"""`make run`: Daphne serving HTTP and WebSockets, with the platform's services in-process."""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import CommandError

from trading_app.management.base import MigratedDatabaseCommand

log = logging.getLogger("tradingsim.serve")
REQUEST_DRAIN_SECONDS = 10.0  # what a running request gets to finish once SIGTERM arrived


class Command(MigratedDatabaseCommand):
    help = "Serve the platform with Daphne and run the matching worker and feeds beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-worker", action="store_true", help="run_matching runs elsewhere")

    def handle(self, *args, **opts):
        from channels.routing import get_default_application
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from twisted.internet import defer, reactor

        from trading_app.background import WORKER, ServiceGroup, background_services
        from trading_app.matching_worker.lease import ShardBusy, check_shards_free

        if not opts["no_worker"]:
            try:  # before anything starts: a second writer of the books must not even begin
                check_shards_free(list(range(settings.MATCHING_SHARDS)))
            except ShardBusy as exc:
                raise CommandError(
                    f"Cannot start the matching worker: {exc}. Another `make run`/serve, a "
                    "run_matching, or a run_strategy or simulate_market hosting its own worker "
                    "is using this database: stop it first (or, if that worker is reachable "
                    "over REDIS_URL, start this server with --no-worker)."
                ) from None

        group = ServiceGroup(
            (name, path)
            for name, path in background_services()
            if not (opts["no_worker"] and name == WORKER)
        )

        def start_services():
            group.start(on_end=_report_end)
            self._banner(opts["host"], opts["port"], group.names)

        async def stop_in_order():
            await _finish_requests(REQUEST_DRAIN_SECONDS)
            await group.stop()

        def drain():
            return defer.Deferred.fromFuture(asyncio.ensure_future(stop_in_order()))

        reactor.callWhenRunning(start_services)
        reactor.addSystemEventTrigger("before", "shutdown", drain)
        Server(
            application=get_default_application(),
            endpoints=build_endpoint_description_strings(host=opts["host"], port=opts["port"]),
            signal_handlers=True,
            action_logger=None,
            http_timeout=None,
            websocket_timeout=86400,
            websocket_connect_timeout=20,
            application_close_timeout=10,
            verbosity=0,
        ).run()
        _exit_past_stuck_threads()

    def _banner(self, host: str, port: int, services: list[str]) -> None:
        from rest_framework.authtoken.models import Token

        token = Token.objects.filter(user__username="demo").values_list("key", flat=True).first()
        base = f"http://{host}:{port}"
        lines = [
            "",
            "tradingSim is running (Ctrl-C stops everything)",
            f"  API docs      {base}/api/docs/",
            f"  Admin         {base}/admin/   (admin / admin)",
            f"  Monitor       {base}/web/monitor/   (demo / demo)",
            f"  Health        {base}/healthz",
            f"  Demo token    {token or '(run manage.py bootstrap_demo)'}",
            f"  Services      {', '.join(services) or 'none'}",
            f"  Try           curl -H 'Authorization: Token {token}' {base}/api/account/",
            "",
        ]
        self.stdout.write("\n".join(lines))


async def _finish_requests(timeout: float) -> None:
    """Refuse new HTTP requests (503) and give the running ones `timeout` s to finish, while
    the event loop and the matching worker they may be talking to still run."""
    from trading_app.inflight import requests

    requests.start_draining()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while requests.count and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if requests.count:
        log.warning(
            "%d request(s) still running after %.0f s; stopping anyway", requests.count, timeout
        )


def _exit_past_stuck_threads(grace: float = 5.0) -> None:
    """The services have stopped and the database holds everything. At exit the interpreter
    joins every thread-pool thread; one that still waits on the stopped event loop (a request
    that outlived the drain) would hold the process forever. Do that join first, in a helper
    thread, and if it has not finished after `grace` seconds, exit without it."""
    import os
    import sys
    import threading
    from concurrent.futures import thread as pool_threads

    join_all = getattr(pool_threads, "_python_exit", None)
    if join_all is None:  # another Python: leave the exit to the interpreter
        return
    joined = threading.Event()

    def join() -> None:
        join_all()
        joined.set()

    threading.Thread(target=join, name="exit-join", daemon=True).start()
    if joined.wait(grace):
        return
    log.warning("a request thread is stuck on the stopped event loop: exiting without it")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _report_end(name: str, task: asyncio.Task) -> None:
    if task.cancelled():
        return
    if task.exception() is not None:
        log.error("%s stopped with an error", name, exc_info=task.exception())
