import asyncio
import signal

from django.conf import settings
from django.core.management.base import CommandError

from trading_app.management.base import MigratedDatabaseCommand
from trading_app.matching_worker.lease import ShardBusy
from trading_app.matching_worker.service import run_workers


def parse_shard(value: str | None, default_total: int) -> tuple[list[int], int]:
    if not value:
        return list(range(default_total)), default_total
    try:
        index, total = (int(x) for x in value.split("/"))
    except ValueError:
        raise CommandError("--shard takes i/N, e.g. 0/2") from None
    if total < 1 or not 0 <= index < total:
        raise CommandError(f"--shard {value}: need 0 <= i < N")
    return [index], total


class Command(MigratedDatabaseCommand):
    help = (
        "Run the matching worker: the single writer of the order books (SIGTERM drains and stops)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--shard", help="i/N: run shard i of N (instruments split by a stable hash)"
        )

    def handle(self, *args, **opts):
        shards, total = parse_shard(opts["shard"], settings.MATCHING_SHARDS)
        if total > 1 and "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            raise CommandError(
                "several shards in separate processes need REDIS_URL (channels-redis)"
            )
        try:
            asyncio.run(self._run(shards, total))
        except ShardBusy as exc:
            raise CommandError(
                f"{exc}. Is `make run` (serve), another run_matching, or a run_strategy or "
                "simulate_market hosting its own worker using this database? Stop it first, or "
                "run the server with `serve --no-worker` beside this worker (over REDIS_URL)."
            ) from None

    async def _run(self, shards: list[int], total: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(f"matching worker: shards {shards} of {total}")
        await run_workers(stop, shards, total)
