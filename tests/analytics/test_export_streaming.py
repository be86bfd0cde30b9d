"""A big day streams: 100,000 trades go out in bounded memory, as a multipart upload whose parts
reassemble in order; and on PostgreSQL the server-formatted path writes the very bytes the ORM
path writes.

Memory is tracemalloc's peak of the Python heap during the export: precise, and the S3 server
runs in a child process so that its own buffers are not counted. It is traced on PostgreSQL,
where big days take the server-formatted path (a second or two). On SQLite the ORM path runs about five
times slower under tracing (10-28 s on the shared 2-core machine), too slow for the suite, so
there the export runs untraced; measured once by hand it peaked at 3.7 MB for this 7.2 MB day.
(Peak RSS of a fresh child process was tried too: at 7 MB of CSV it is dominated by fixed costs,
SQLite's page cache and botocore's lazy loading, and could not tell streaming from buffering.)
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, date, datetime

import boto3
import pytest
from django.db import connection

from tests.support.bulk_trades import bulk_load_trades
from tests.support.moto_server import start_moto_server_process
from trading_app.analytics.export import HEADER, export_day
from trading_app.analytics.stores import LocalStore, S3Store, s3_client

DAY = date(2025, 3, 14)
ROWS = 100_000
PART = 512 * 1024  # parts of 512 KiB (production: 8 MiB) so that a 7 MB day has many of them


@pytest.fixture
def moto_small_parts(settings, monkeypatch, tmp_path):
    """moto's server in a child process (its memory is not ours), accepting our small parts."""
    from tests.support.aws import point_boto3_at

    monkeypatch.setenv("S3_UPLOAD_PART_MIN_SIZE", str(PART))
    endpoint, stop = start_moto_server_process()
    point_boto3_at(monkeypatch, tmp_path, endpoint)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    settings.AWS_ENDPOINT_URL = endpoint
    yield endpoint
    stop()


@pytest.mark.django_db
def test_100k_trades_export_in_bounded_memory_as_a_multipart_upload(
    moto_small_parts, make_account, instruments
):
    accounts = [make_account(f"trader{i}")[0].id for i in range(5)]
    bulk_load_trades(ROWS, DAY, accounts, {s: i.id for s, i in instruments.items()})
    client = s3_client()
    client.create_bucket(Bucket="big-day")
    store = S3Store(client, "big-day", part_size=PART)

    traced = connection.vendor == "postgresql"
    if traced:
        tracemalloc.start()
    try:
        started = time.perf_counter()
        result = export_day(DAY, store)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        tracemalloc.stop()

    assert result is not None and result.rows == ROWS
    assert result.bytes > 12 * PART  # ~7 MB of CSV went out holding a few MB at most
    if traced:
        # A bound that does not grow with the day: one batch of rows (<= 2 MiB) plus a few
        # part-sized buffers (ours, the part being sent, botocore's hold on its body).
        budget = 2 * 1024 * 1024 + 6 * PART
        assert peak < budget < result.bytes, f"peak {peak:,} B for a {result.bytes:,} B file"
    head = client.head_object(Bucket="big-day", Key=result.key)
    assert head["ContentLength"] == result.bytes
    assert head["ETag"].endswith(f'-{-(-result.bytes // PART)}"')  # one part per PART bytes
    # The parts reassemble in order: every row, timestamps never going back across a boundary.
    lines = client.get_object(Bucket="big-day", Key=result.key)["Body"].read().splitlines()
    assert lines[0] == HEADER.rstrip()
    assert len(lines) == ROWS + 1
    stamps = [line.split(b",")[1] for line in lines[1:]]
    assert stamps == sorted(stamps) and stamps[0].startswith(b"2025-03-14T14:30")
    print(f"{ROWS:,} rows, {result.bytes:,} B in {seconds:.2f} s, traced peak {peak:,} B")


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the server path is PostgreSQL's")
def test_server_and_orm_paths_write_identical_bytes(local_store, record_trade, tmp_path):
    from tests.analytics.test_export_analysis import record_all

    record_all(record_trade)
    day = date(2025, 1, 20)
    odd = [("zoe", "SPY", "buy", p, 1, datetime(2025, 1, 20, 20, 0, n, tzinfo=UTC))
           for n, p in enumerate(["0.000001", "1234567.5", "7", "10.100000", "0.01"])]  # fmt: skip
    for row in odd:
        record_trade(*row)
    # names that CSV must quote (not valid usernames for Django's forms, but the model takes them)
    for n, user in enumerate(["a,b", 'say "hi"', "two\nlines"]):
        record_trade(user, "MSFT", "sell", "420.00", 3, datetime(2025, 1, 20, 20, 1, n, tzinfo=UTC))
    copy_store, orm_store = LocalStore(tmp_path, "server"), LocalStore(tmp_path, "orm")
    export_day(day, copy_store, method="server")
    export_day(day, orm_store, method="orm")
    copied = (tmp_path / "server" / "2025/01/20/trades.csv").read_bytes()
    assert copied == (tmp_path / "orm" / "2025/01/20/trades.csv").read_bytes()
    prices = [row.split(b",")[4] for row in copied.splitlines() if b",SPY," in row]
    assert b',"a,b",' in copied and b',"say ""hi""",' in copied and b',"two\nlines",' in copied
    assert prices == [b"0.000001", b"1234567.50", b"7.00", b"10.10", b"0.01"]


def test_parts_upload_in_order_and_a_failure_mid_stream_leaves_nothing(bucket, s3):
    """Parts go up from a background thread while the next is read: the object is the stream's
    bytes in order; a stream that breaks after some parts were sent aborts the upload (no
    object, no multipart upload left to pay for)."""
    store = S3Store(s3_client(), bucket, part_size=5 * 1024 * 1024)  # S3's smallest part
    chunks = [bytes([65 + i % 26]) * (1024 * 1024) for i in range(23)]  # 23 MiB: 5 parts
    assert store.write("whole.csv", iter(chunks)) == 23 * 1024 * 1024
    assert s3.get_object(Bucket=bucket, Key="whole.csv")["Body"].read() == b"".join(chunks)

    def broken():
        yield from chunks[:16]  # three parts sent, the fourth in the buffer
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        store.write("broken.csv", broken())
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["whole.csv"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the server path is PostgreSQL's")
def test_a_day_cut_into_blocks_by_several_backends_is_the_same_file_from_one_snapshot(
    local_store, record_trade, tmp_path, monkeypatch
):
    """Big days are formatted by several backends, every third block each: the file is the one
    the ORM writes (ties at a block boundary stay together, in id order), and a trade committed
    once the export has begun is in none of the blocks (they all read the snapshot of its
    start)."""
    import threading

    from trading_app.analytics import export

    monkeypatch.setattr(export, "SEGMENT_MIN_ROWS", 1)
    monkeypatch.setattr(export, "SEGMENTS", 3)
    monkeypatch.setattr(export, "AGG_LINES", 4)
    day = date(2025, 1, 20)
    for n in range(24):  # eleven trades share 15:00:05: a boundary falls inside them
        at = datetime(2025, 1, 20, 15, 0, n if n < 7 or n > 16 else 5, tzinfo=UTC)
        record_trade(f"u{n % 3}", "AAPL" if n % 2 else "MSFT", "buy", f"10{n}.5", n + 1, at)

    late = threading.Thread(
        target=record_trade,
        args=("late", "AAPL", "sell", "1.00", 1, datetime(2025, 1, 20, 23, tzinfo=UTC)),
    )
    started = []
    real_start = export._SegmentThread.start

    def start_after_a_late_commit(thread):
        if not started:  # the snapshot is exported; the segments have not imported it yet
            late.start()
            late.join()
        started.append(thread)
        real_start(thread)

    monkeypatch.setattr(export._SegmentThread, "start", start_after_a_late_commit)
    blocks = list(export._server_blocks(*export.day_window(day)))
    assert len(started) == 3 and len(blocks) == 5  # 24 rows in blocks of 4; the tie is one block
    server = b"".join(blocks)

    export_day(day, LocalStore(tmp_path, "orm"), method="orm")
    orm = (tmp_path / "orm" / "2025/01/20/trades.csv").read_bytes()
    assert orm.startswith(HEADER) and b",late," in orm  # the ORM export ran after the commit
    assert HEADER + server == b"".join(
        line for line in orm.splitlines(keepends=True) if b",late," not in line
    )
    assert server.count(b"\n") == 24
    assert [block.count(b"\n") for block in blocks] == [4, 1, 11, 4, 4]


def test_blocks_out_of_order_fail_the_export_instead_of_shuffling_the_file():
    from trading_app.analytics.export import _in_block_order

    def segment(*ks):
        return iter([(k, f"block {k}\n") for k in ks])

    assert b"".join(_in_block_order([segment(0, 2, 4), segment(1, 3)])) == b"".join(
        f"block {k}\n".encode() for k in range(5)
    )
    with pytest.raises(RuntimeError, match="block 3 arrived where block 2 belongs"):
        list(_in_block_order([segment(0, 3), segment(1, 2)]))
    with pytest.raises(RuntimeError, match="block 4 arrived after the last one"):
        list(_in_block_order([segment(0), segment(1), segment(2, 4)]))
