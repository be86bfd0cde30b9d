"""A 200,000-row day goes through the handler in bounded memory: the body is streamed, by the
single pass and by the parallel ranges (whose parent only passes bytes on to the workers).

tracemalloc slows the run down about eightfold, hence the "slow" mark. A worker process
inherits the tracing and reports its own peak (trade_parallel's debug log).
The moto server runs in a child process here: to serve a GET it builds the whole object in
memory, which tracemalloc would otherwise count against the handler.
"""

from __future__ import annotations

import logging
import re
import tracemalloc
from datetime import date

import pytest
import trade_parallel
from handler import lambda_handler
from trade_s3 import s3_client

from tests.support.moto_server import start_moto_server_process
from tests.support.trade_csv import trades_csv_bytes

ROWS = 200_000
DAY = date(2025, 1, 21)


@pytest.fixture(scope="module")
def moto_process_endpoint():
    endpoint, stop = start_moto_server_process()
    yield endpoint
    stop()


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_large_day_streams_in_bounded_memory(
    aws_env, moto_process_endpoint, monkeypatch, caplog, workers
):
    caplog.set_level(logging.DEBUG, logger=trade_parallel.logger.name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_process_endpoint)
    monkeypatch.setenv(trade_parallel.WORKERS_ENV, workers)
    client = s3_client()  # built (and its service model loaded) before measuring
    client.create_bucket(Bucket="big-day")
    body = trades_csv_bytes(ROWS, DAY, seed=11)
    client.put_object(Bucket="big-day", Key="2025/01/21/trades.csv", Body=body)
    client.head_object(Bucket="big-day", Key="2025/01/21/trades.csv")
    size = len(body)
    del body

    tracemalloc.start()
    try:
        reply = lambda_handler({"date": DAY.isoformat(), "bucket": "big-day"}, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert reply["statusCode"] == 200, reply
    assert reply["analysis"]["total_trades"] == ROWS
    assert reply["analysis"]["malformed_rows"] == 0
    assert size > 19_000_000
    # Streaming holds a chunk or two; reading the body whole would need at least its size
    # (twice, once decoded). Measured: about 2 MB for this 20 MB file, and 0.5 MB for the
    # parent plus 2 MB for each worker of the ranges.
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte file"
    worker_peaks = [int(p) for p in re.findall(r"traced peak (\d+) bytes", caplog.text)]
    assert len(worker_peaks) == (2 if workers == "2" else 0)
    assert all(p < size / 4 for p in worker_peaks), worker_peaks
