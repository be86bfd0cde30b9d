"""Benchmark of export -> S3 -> analysis on a big day (issue 5).

    .venv/bin/python bench/export.py [--rows 1000000] [--database-url URL]

Starts a throwaway PostgreSQL (as `make test` does) unless --database-url is given, migrates it,
bulk-loads N trades of one day with COPY, vacuums them (as autovacuum would have by the evening
export), and starts moto's S3 server in a child process (its
CPU and memory are not ours). Then, each step timed in wall and CPU time of this process and of
the worker processes it started and waited for (the analysis of a big file runs in byte ranges,
one process each: lambda/trade_analysis/trade_parallel.py), with this process's peak RSS sampled
every 10 ms, and the largest worker's peak RSS (most of it pages shared with this process):
1. export: `export_day` as `manage.py export_trades` runs it: PostgreSQL formats the rows (2,000
   CSV lines per fetched row of a server-side cursor), we upload them to moto over HTTP as a
   multipart upload of 8 MiB parts;
2. analysis: the Lambda handler in-process, reading that object back over HTTP as a stream and
   writing analysis.json, as GET /api/trade-analysis/ runs it without a deployed function.
Targets: export >= 200,000 rows/s, analysis >= 500,000 rows/s, peak memory < 200 MB. The
PostgreSQL server's own CPU (the sort and the formatting) is not in this process's CPU time, so
for the export the wall rate is the figure to compare. Progress goes to stderr; one summary line
to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import psutil  # noqa: E402

DAY = date(2025, 1, 20)
BUCKET = "bench-trade-exports"
TARGETS = {"export": 200_000, "analysis": 500_000}
PEAK_TARGET_MB = 200
MB = 1_000_000


def progress(message: str) -> None:
    print(f"[bench/export] {message}", file=sys.stderr, flush=True)


class RssSampler:
    """Highest RSS of this process while running, sampled every 10 ms in a thread."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def measure(label: str, rows: int, run: Callable[[], Any]) -> dict[str, Any]:
    progress(f"{label}: running")
    with RssSampler() as rss:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    cpu += workers_cpu
    # ru_maxrss (KiB) is the largest of all children waited for so far: new only if it grew.
    worker_rss = after.ru_maxrss * 1024 if after.ru_maxrss > before.ru_maxrss else None
    figures = {
        "label": label,
        "wall": wall,
        "cpu": cpu,
        "rate": rows / wall,
        "cpu_rate": rows / cpu if cpu else float("inf"),
        "peak_mb": rss.peak / MB,
        "growth_mb": (rss.peak - rss.baseline) / MB,
        "result": result,
    }
    progress(
        f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU -> {figures['rate']:,.0f} rows/s "
        f"({figures['cpu_rate']:,.0f} per CPU-second); peak RSS {figures['peak_mb']:.0f} MB "
        f"(+{figures['growth_mb']:.1f} MB during the step)"
        + (f"; {workers_cpu:.2f} s of the CPU in worker processes" if workers_cpu else "")
        + (
            f", the largest peaking at {worker_rss / MB:.0f} MB RSS (mostly pages shared with "
            "this process)"
            if worker_rss
            else ""
        )
    )
    return figures


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    load_start = _load()

    with contextlib.ExitStack() as stack:
        url = args.database_url
        if not url:
            from test_servers import throwaway_postgres

            progress("starting a throwaway PostgreSQL")
            url = stack.enter_context(throwaway_postgres())
        from tests.support.moto_server import start_moto_server_process

        progress("starting moto's S3 server in a child process")
        endpoint, stop_moto = start_moto_server_process()
        stack.callback(stop_moto)
        os.environ.update(
            DATABASE_URL=url,
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            TRADE_EXPORT_STORE="s3",
            TRADE_EXPORT_BUCKET=BUCKET,
            LOG_LEVEL="WARNING",
        )
        os.environ.pop("REDIS_URL", None)
        os.environ.setdefault(
            "TRADINGSIM_VAR_DIR", tempfile.mkdtemp(prefix="tradingsim-bench-var-")
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingSim_project.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        # Setup only: production-strength hashing would spend 30 s on the 50 bench accounts.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        from django.db import connection

        from tests.support.bulk_trades import bulk_load_trades
        from trading_app.analytics.analysis import handler_module
        from trading_app.analytics.export import export_day
        from trading_app.analytics.stores import S3Store, s3_client
        from trading_app.models import Instrument, Trade
        from trading_app.services.accounts import create_account
        from trading_app.services.instruments import load_demo_instruments

        progress("migrating")
        call_command("migrate", verbosity=0)
        load_demo_instruments()
        accounts = []
        for n in range(50):
            name = f"bench{n}"
            accounts.append(create_account(name, name, reset=True)[0].id)
        instruments = dict(Instrument.objects.values_list("symbol", "id"))
        Trade.objects.filter(timestamp__date=DAY).delete()

        def load() -> None:
            bulk_load_trades(
                args.rows,
                DAY,
                accounts,
                instruments,
                progress=lambda done: progress(f"  loaded {done:,} / {args.rows:,} trades"),
            )

        loaded = measure("bulk load (COPY FROM STDIN)", args.rows, load)
        # What autovacuum does to a table after a day of inserts, before the evening's export:
        # without it the export's first read also sets every row's hint bits (a write per page).
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {Trade._meta.db_table}")
        client = s3_client()
        client.create_bucket(Bucket=BUCKET)
        store = S3Store(client, BUCKET)

        exported = measure(
            "export (PostgreSQL -> S3 multipart)",
            args.rows,
            lambda: export_day(DAY, store, progress=progress),
        )
        result = exported["result"]
        assert result is not None and result.rows == args.rows, result
        progress(f"  wrote {result.url}: {result.rows:,} rows, {result.bytes / MB:.1f} MB")

        handler = handler_module()
        handler.lambda_handler({"date": "2025-01-19", "bucket": BUCKET}, None, client=client)
        analysed = measure(
            "analysis (handler in-process, S3 stream over HTTP)",
            args.rows,
            lambda: handler.lambda_handler(
                {"date": DAY.isoformat(), "bucket": BUCKET}, None, client=client
            ),
        )
        reply = analysed["result"]
        assert reply["statusCode"] == 200, reply
        assert reply["analysis"]["rows_read"] == args.rows, reply["analysis"]["rows_read"]
        assert reply["analysis"]["malformed_rows"] == 0

    peak = max(exported["peak_mb"], analysed["peak_mb"])
    print(file=sys.stderr)
    for step, key in ((exported, "export"), (analysed, "analysis")):
        progress(
            f"{step['label']}: {step['rate']:,.0f} rows/s wall = "
            f"{step['rate'] / TARGETS[key]:.2f}x the {TARGETS[key]:,} target; "
            f"{step['cpu']:.2f} s CPU here; peak RSS {step['peak_mb']:.0f} MB = "
            f"{step['peak_mb'] / PEAK_TARGET_MB:.2f}x the {PEAK_TARGET_MB} MB limit"
        )
    progress(f"load average at start {load_start}, at end {_load()} (2 cores, shared machine)")
    print(
        f"bench/export: {args.rows:,} rows ({result.bytes / MB:.0f} MB CSV); "
        f"load {loaded['rate']:,.0f} rows/s; "
        f"export {exported['rate']:,.0f} rows/s ({exported['rate'] / TARGETS['export']:.2f}x), "
        f"{exported['cpu']:.1f} s CPU; "
        f"analysis {analysed['rate']:,.0f} rows/s ({analysed['rate'] / TARGETS['analysis']:.2f}x), "
        f"{analysed['cpu_rate']:,.0f} per CPU-s; "
        f"peak RSS {peak:.0f} MB ({peak / PEAK_TARGET_MB:.2f}x of {PEAK_TARGET_MB} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
