"""Benchmark of the analysis half of export -> S3 -> Lambda: the trade-analysis function.

    .venv/bin/python bench/lambda_analysis.py [--rows N] [--repeat K] [--seed S]

Setup (not timed): N trades of one day in the export CSV format (tests/support/trade_csv.py:
session-ordered timestamps, Zipf-like ticker activity, random-walk prices, mostly round lots)
are written to a temporary file, and uploaded to moto's S3 server running in a child process,
so that the server's CPU and memory (it builds the whole object in memory to serve a GET) are
not counted here.

Measured, best of K runs (median shown too, the machine is shared and noisy), in wall time and
in CPU time of this process and of the worker processes it waited for:
- local analysis: the file read in 256 KiB chunks -> trade_lines.iter_lines -> analyze_lines,
  the "analysis of a local stream" the 500,000 rows/s target is about (one process);
- handler: lambda_handler end to end over HTTP (streamed GET, analysis, JSON PUT); a file this
  big is analysed in byte ranges by one worker process per CPU (trade_parallel.py), or by one
  process with TRADE_ANALYSIS_WORKERS=1.
Memory: the handler's tracemalloc peak (one extra run: tracing slows it down ~8x, so it is not
timed; with worker processes, this process's: each worker logs its own at DEBUG, logger
trade_parallel), the process's RSS high-water mark sampled every 10 ms during a timed handler
run, and the CSV's size for comparison. The 1-minute load average is printed too: on a shared machine
it explains most of the spread. Progress goes to stderr; one summary line to stdout.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "lambda" / "trade_analysis"))  # the Lambda package root

import psutil  # noqa: E402
from handler import lambda_handler  # noqa: E402
from trade_analyzer import analyze_lines  # noqa: E402
from trade_lines import CHUNK_SIZE, iter_lines  # noqa: E402
from trade_s3 import s3_client, trades_key  # noqa: E402

from tests.support.moto_server import start_moto_server_process  # noqa: E402
from tests.support.trade_csv import generate_lines  # noqa: E402

TARGET_ROWS_PER_S = 500_000
DAY = date(2025, 1, 20)
BUCKET = "bench-trade-exports"
MB = 1_000_000
AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_csv(path: Path, rows: int, seed: int) -> int:
    """Write the day's CSV to `path` in batches (never the whole text in memory); return bytes."""
    batch: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        for line in generate_lines(rows, DAY, seed):
            batch.append(line)
            if len(batch) == 50_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return path.stat().st_size


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk


class RssSampler:
    """Highest RSS seen while running, sampled every `interval` seconds in a thread."""

    def __init__(self, interval: float = 0.01) -> None:
        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def timed(label: str, repeat: int, run: Callable[[], Any]) -> tuple[list[float], list[float]]:
    """Run `repeat` times; return (wall seconds, CPU seconds of this process) per run.

    CPU time is the steadier figure on a busy machine: it leaves out the time the scheduler
    gave to other processes (including the moto server, which runs in a child process but is
    not waited for). The analysis's worker processes are waited for: their CPU time counts.
    """
    walls, cpus = [], []
    for n in range(repeat):
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = done.ru_utime + done.ru_stime - workers.ru_utime - workers.ru_stime
        cpus.append(time.process_time() - cpu + workers_cpu)
        progress(f"  {label} run {n + 1}/{repeat}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU")
    return walls, cpus


def run_analysis_bench(rows: int = 1_000_000, repeat: int = 3, seed: int = 1) -> dict[str, Any]:
    """Run the benchmark; return its figures (rows/s, seconds, bytes) as a dict."""
    event = {"date": DAY.isoformat(), "bucket": BUCKET}
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp:
        csv_path = Path(tmp) / "trades.csv"
        started = time.perf_counter()
        progress(f"generating {rows:,} rows -> {csv_path} ...")
        size = write_csv(csv_path, rows, seed)
        progress(f"  {size / MB:.1f} MB in {time.perf_counter() - started:.1f} s")

        progress("starting moto S3 server (child process) ...")
        endpoint, stop = start_moto_server_process()
        # Dummy credentials: the local server must never see real ones.
        saved_env = {k: os.environ.pop(k, None) for k in AWS_ENV}
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"
        )
        try:
            progress(f"  {endpoint}; uploading ...")
            client = s3_client()
            client.create_bucket(Bucket=BUCKET)
            with csv_path.open("rb") as body:
                client.put_object(Bucket=BUCKET, Key=trades_key(DAY), Body=body)

            progress("checking: one handler run ...")
            reply = lambda_handler(event, None)
            if reply["statusCode"] != 200 or reply["analysis"]["total_trades"] != rows:
                raise RuntimeError(f"handler did not analyse the file: {reply.get('message')}")

            progress("local analysis (file stream -> analyze_lines) ...")
            local, local_cpu = timed(
                "local", repeat, lambda: analyze_lines(iter_lines(file_chunks(csv_path)), day=DAY)
            )
            progress("handler over HTTP (RSS sampled) ...")
            rss_base = psutil.Process().memory_info().rss
            with RssSampler() as rss:
                handler, handler_cpu = timed("handler", repeat, lambda: lambda_handler(event, None))

            progress("handler under tracemalloc (not timed) ...")
            tracemalloc.start()
            try:
                lambda_handler(event, None)
                traced_peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        finally:
            stop()
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    return {
        "rows": rows,
        "csv_bytes": size,
        "local_best_s": min(local),
        "local_median_s": statistics.median(local),
        "local_rows_per_s": rows / min(local),
        "local_rows_per_cpu_s": rows / min(local_cpu),
        "handler_best_s": min(handler),
        "handler_median_s": statistics.median(handler),
        "handler_rows_per_s": rows / min(handler),
        "handler_rows_per_cpu_s": rows / min(handler_cpu),
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "target_ratio": rows / min(local) / TARGET_ROWS_PER_S,
        "target_ratio_cpu": rows / min(local_cpu) / TARGET_ROWS_PER_S,
        "tracemalloc_peak_bytes": traced_peak,
        "rss_base_bytes": rss_base,
        "rss_peak_bytes": rss.peak,
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }


def summary(figures: dict[str, Any]) -> str:
    f = figures
    return (
        f"lambda_analysis rows={f['rows']:,} csv={f['csv_bytes'] / MB:.1f}MB "
        f"local_analysis={f['local_rows_per_s']:,.0f} rows/s wall "
        f"({f['target_ratio']:.2f}x target {f['target_rows_per_s']:,}; best {f['local_best_s']:.2f}s, "
        f"median {f['local_median_s']:.2f}s), {f['local_rows_per_cpu_s']:,.0f} rows/CPU-s "
        f"({f['target_ratio_cpu']:.2f}x) "
        f"handler={f['handler_rows_per_s']:,.0f} rows/s wall, "
        f"{f['handler_rows_per_cpu_s']:,.0f} rows/CPU-s (best {f['handler_best_s']:.2f}s) "
        f"tracemalloc_peak={f['tracemalloc_peak_bytes'] / MB:.1f}MB "
        f"rss_peak={f['rss_peak_bytes'] / MB:.0f}MB "
        f"(+{(f['rss_peak_bytes'] - f['rss_base_bytes']) / MB:.1f}MB over run start) "
        f"load={f['load_average']:.1f}/{f['cpus']}cpu"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(summary(run_analysis_bench(args.rows, args.repeat, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
