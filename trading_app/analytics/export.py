"""`export_trades`' service: one UTC day of trades as a CSV in the store, streamed end to end.

The CSV is the contract in docs/architecture.md ("Trade CSV") that the Lambda reads:
`trade_id,timestamp,ticker,side,price,quantity,account,order_id,source`, one row per account
side (Trade), ordered by (timestamp, id) so that exporting a day twice gives the same bytes.

- timestamp: UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the Lambda's fast-path form;
- price: the stored Decimal in plain notation, trailing zeros trimmed to at least 2 decimals
  (150.500000 -> 150.50, 150.123400 -> 150.1234): exact, and what a person expects to read;
- account: the username (the Lambda does not interpret it; a name is what a reader wants);
- order_id: the order's UUID, empty for manual trades.

On PostgreSQL the server formats the lines itself and joins them AGG_LINES at a time (a block),
read through server-side cursors: Python then handles ~500 blocks per million rows instead of a
million rows (COPY TO STDOUT hands rows over one at a time: 4.5 s of Python per million, against
0.3 s). Formatting is the server's work (~2.5 s of one core per million rows), so a big day is
formatted by SEGMENTS backends at once, each taking every SEGMENTS-th block, all reading one
snapshot (pg_export_snapshot, as pg_dump's parallel mode does): the file is the same as from one
query. Blocks stream as they are made, each backend a few blocks ahead of the upload, so the
backends, our thread and the S3 upload all run at once and memory holds a few blocks.
Elsewhere (the SQLite default) the ORM streams rows with .iterator() and Python formats them
identically. Either way memory holds a few blocks of rows plus the upload parts in flight,
whatever the day's size.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from psycopg import sql

from trading_app.analytics.stores import TradeStore
from trading_app.models import Account, Trade

HEADER = b"trade_id,timestamp,ticker,side,price,quantity,account,order_id,source\n"
ORM_CHUNK_ROWS = 2_000  # rows of Python objects held at once (~1 MB)
PROGRESS_EVERY_ROWS = 100_000

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExportResult:
    day: date
    url: str
    key: str
    rows: int
    bytes: int
    seconds: float


def trades_key(day: date) -> str:
    """The key the Lambda reads (lambda/trade_analysis/trade_s3.trades_key)."""
    return f"{day:%Y/%m/%d}/trades.csv"


def day_window(day: date) -> tuple[datetime, datetime]:
    """[midnight, next midnight) in UTC: a trade belongs to the UTC day of its timestamp."""
    start = datetime.combine(day, dtime.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def export_day(
    day: date,
    store: TradeStore,
    *,
    progress: Progress | None = None,
    method: str = "auto",
) -> ExportResult | None:
    """Write `day`'s trades to store at YYYY/MM/DD/trades.csv; None (nothing written) if the day
    has no trades. `method`: "server" (PostgreSQL formats), "orm" (any backend) or "auto"."""
    start, end = day_window(day)
    if not Trade.objects.filter(timestamp__gte=start, timestamp__lt=end).exists():
        return None
    if method == "auto":
        method = "server" if connection.vendor == "postgresql" else "orm"
    blocks = _server_blocks(start, end) if method == "server" else _orm_blocks(start, end)
    key = trades_key(day)
    counter = _RowCounter(day, progress)
    began = time.perf_counter()
    size = store.write(key, counter.count(_with_header(blocks)))
    return ExportResult(
        day=day,
        url=store.url(key),
        key=key,
        rows=counter.rows,
        bytes=size,
        seconds=time.perf_counter() - began,
    )


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class _RowCounter:
    """Counts rows (line ends; no field can hold one) as the bytes go by, and reports progress."""

    def __init__(self, day: date, progress: Progress | None) -> None:
        self.day = day
        self.progress = progress
        self.rows = 0
        self.bytes = 0
        self._next_report = PROGRESS_EVERY_ROWS

    def count(self, blocks: Iterable[bytes]) -> Iterator[bytes]:
        lines = -1  # the header is not a row
        for block in blocks:
            lines += block.count(b"\n")
            self.bytes += len(block)
            self.rows = max(lines, 0)
            if self.progress and self.rows >= self._next_report:
                self.progress(f"  {self.day}: {self.rows:,} rows, {self.bytes / 1e6:,.1f} MB")
                self._next_report = (self.rows // PROGRESS_EVERY_ROWS + 1) * PROGRESS_EVERY_ROWS
            yield block


def _with_header(blocks: Iterable[bytes]) -> Iterator[bytes]:
    yield HEADER
    yield from blocks


# --- the ORM path (any database) --------------------------------------------------------------


def format_price(price: Decimal) -> str:
    """Plain notation, trailing zeros trimmed, at least 2 decimals (the COPY path's SQL twin)."""
    whole, _, fraction = format(price, "f").partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction:0<2}"


def csv_field(text: str) -> str:
    """Quote like PostgreSQL's CSV output (and csv.writer): only when the text needs it."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _orm_blocks(start: datetime, end: datetime) -> Iterator[bytes]:
    rows = (
        Trade.objects.filter(timestamp__gte=start, timestamp__lt=end)
        .order_by("timestamp", "id")
        .values_list(
            "id",
            "timestamp",
            "ticker",
            "side",
            "price",
            "quantity",
            "account__user__username",
            "order_id",
            "source",
        )
        .iterator(chunk_size=ORM_CHUNK_ROWS)
    )
    batch: list[str] = []
    for trade_id, stamp, ticker, side, price, quantity, account, order_id, source in rows:
        stamp = stamp.astimezone(UTC)
        batch.append(
            f"{trade_id},{stamp.replace(tzinfo=None).isoformat(timespec='microseconds')}Z,"
            f"{csv_field(ticker)},{side},"
            f"{format_price(price)},{quantity},{csv_field(account)},{order_id or ''},{source}\n"
        )
        if len(batch) == ORM_CHUNK_ROWS:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()


# --- the PostgreSQL path ------------------------------------------------------------------------


def _col(meta, name: str) -> str:
    return meta.get_field(name).column


AGG_LINES = 2000  # CSV lines per block: one fetched row, ~144 KB
SEGMENTS = 2  # backends formatting one day at once: the cores of the machines we measure on
SEGMENT_MIN_ROWS = 100_000  # below this a second backend costs more than it saves
_BLOCKS_AHEAD = 4  # blocks a segment's thread holds before its turn comes (~600 KB)


def _blocks_sql() -> str:
    """One (k, text) row per block of the day that is this backend's share (k mod segments).

    Block boundaries are the timestamps of every AGG_LINES-th trade in time order, read off the
    timestamp index (a tie of more than AGG_LINES trades stays in one block): every backend
    derives the same boundaries from the shared snapshot, then formats and sorts (timestamp, id)
    only its own blocks, each as one string_agg of ~AGG_LINES lines. Nothing waits on a sort of
    the whole day: blocks stream out as they are made, so the backends format side by side while
    we upload. Params: start, end, day ("YYYY-MM-DDT", the one date every line has), segments,
    segment.
    """
    user = get_user_model()
    trade, account = Trade._meta, Account._meta
    username = user._meta.get_field(user.USERNAME_FIELD).column
    stamp = f"t.{_col(trade, 'timestamp')}"
    price = f"t.{_col(trade, 'price')}"

    def quoted(expr: str) -> str:  # cheaper than a regex per row, and per row it runs
        needs = " + ".join(f"strpos({expr}, {c})" for c in ("','", "'\"'", "E'\\n'", "E'\\r'"))
        return f"CASE WHEN {needs} > 0 THEN '\"' || replace({expr}, '\"', '\"\"') || '\"' ELSE {expr} END"

    line = f"""concat_ws(',',
        t.id,
        %(day)s::text || to_char({stamp} AT TIME ZONE 'UTC', 'HH24:MI:SS.US"Z"'),
        {quoted(f"t.{_col(trade, 'ticker')}")},
        t.{_col(trade, "side")},
        CASE WHEN scale(trim_scale({price})) < 2 THEN round({price}, 2)::text
             ELSE trim_scale({price})::text END,
        t.{_col(trade, "quantity")},
        acc.name,
        coalesce(t.{_col(trade, "order")}::text, ''),
        t.{_col(trade, "source")}) || E'\\n'"""
    # Each account's name is quoted once, on the hash side of the join (OFFSET 0 keeps the planner
    # from pulling the expression up to run per trade).
    names = f"""SELECT a.id, {quoted(f"u.{username}")} AS name
        FROM {account.db_table} a
        JOIN {user._meta.db_table} u ON u.{user._meta.pk.column} = a.{_col(account, "user")}
        OFFSET 0"""
    block = f"""SELECT string_agg({line}, '' ORDER BY {stamp}, t.id)
        FROM {trade.db_table} t JOIN ({names}) acc ON acc.id = t.{_col(trade, "account")}
        WHERE {stamp} >= b.lo AND {stamp} < b.hi"""
    every_nth = f"""SELECT {stamp} AS ts, row_number() OVER (ORDER BY {stamp}) - 1 AS n
        FROM {trade.db_table} t WHERE {stamp} >= %(start)s AND {stamp} < %(end)s"""
    return f"""
        SELECT b.k, ({block})
        FROM (SELECT lo, coalesce(lead(lo) OVER (ORDER BY lo), %(end)s) AS hi,
                     row_number() OVER (ORDER BY lo) - 1 AS k
              FROM (SELECT ts AS lo FROM (SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev
                                          FROM ({every_nth}) x WHERE mod(n, {AGG_LINES}) = 0) y
                    WHERE prev IS DISTINCT FROM ts) z) b
        WHERE mod(b.k, %(segments)s) = %(segment)s
    """


def _server_blocks(start: datetime, end: datetime) -> Iterator[bytes]:
    query = _blocks_sql()
    connection.ensure_connection()
    # Other connections share our snapshot only if the transaction is ours from its start (not
    # inside a caller's, whose uncommitted rows they could not see anyway).
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        segments = 1
        if own_transaction:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if _at_least(cursor, start, end, SEGMENT_MIN_ROWS):
                segments = SEGMENTS
        params = {
            "start": start,
            "end": end,
            "day": f"{start.date().isoformat()}T",
            "segments": segments,
        }
        snapshot = None
        if segments > 1:
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        # Segment 0 runs on this connection (this thread waits meanwhile), the others on their
        # own in the exported snapshot: each backend formats ahead of the consumer.
        threads = [
            _SegmentThread(
                query, {**params, "segment": n}, connection.connection if n == 0 else snapshot
            )
            for n in range(segments)
        ]
        try:
            for thread in threads:
                thread.start()
            yield from _in_block_order([thread.blocks() for thread in threads])
        finally:
            for thread in threads:
                thread.stop()


def _at_least(cursor, start: datetime, end: datetime, rows: int) -> bool:
    """Whether the window holds `rows` trades, read off the timestamp index up to that many."""
    trade = Trade._meta
    stamp = _col(trade, "timestamp")
    cursor.execute(
        f"SELECT 1 FROM {trade.db_table} WHERE {stamp} >= %s AND {stamp} < %s "
        f"ORDER BY {stamp} OFFSET %s LIMIT 1",
        (start, end, rows - 1),
    )
    return cursor.fetchone() is not None


def _in_block_order(segments: list[Iterator[tuple[int, str]]]) -> Iterator[bytes]:
    """Blocks 0, 1, 2... taken from segment k mod len(segments) in turn.

    Each segment's rows come in k order because its plan streams them in the order the window
    functions number them; the query has no ORDER BY, which would wait for the whole day. That
    order is checked here, so a plan that ever broke it fails the export instead of writing a
    shuffled file.
    """
    k = 0
    while True:
        item = next(segments[k % len(segments)], None)
        if item is None:
            break
        got, text = item
        if got != k:
            raise RuntimeError(f"trade export: block {got} arrived where block {k} belongs")
        k += 1
        if text:  # a block is never empty; this only guards the encode
            yield text.encode()
    for segment in segments:
        if (extra := next(segment, None)) is not None:
            raise RuntimeError(f"trade export: block {extra[0]} arrived after the last one")


def _fetch_blocks(raw_connection, query: str, params: dict) -> Iterator[tuple[int, str]]:
    """One segment's (k, text) blocks through a server-side cursor of an open transaction."""
    with raw_connection.cursor(name=f"trade_export_{params['segment']}") as cursor:
        cursor.itersize = 1
        cursor.execute(query, params)
        yield from cursor


class _SegmentThread(threading.Thread):
    """Formats one segment's blocks, up to _BLOCKS_AHEAD ahead of the consumer (so memory stays
    bounded while its backend works in parallel with the others).

    `source` is the exporting transaction's own connection (segment 0), or the snapshot the
    segment's new connection imports. `stop` ends it early (the consumer failed) and closes the
    connection it opened either way.
    """

    def __init__(self, query: str, params: dict, source) -> None:
        super().__init__(name=f"trade-export segment {params['segment']}", daemon=True)
        self._args = (query, params, source)
        self._queue: queue.Queue = queue.Queue(maxsize=_BLOCKS_AHEAD)
        self._stopped = threading.Event()

    def run(self) -> None:
        query, params, source = self._args
        try:
            if not isinstance(source, str):
                self._stream(source, query, params)
                return
            db = connections.create_connection("default")
            try:
                db.ensure_connection()
                raw = db.connection
                with raw.transaction():
                    raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    raw.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(source)))
                    self._stream(raw, query, params)
            finally:
                db.close()
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def _stream(self, raw, query: str, params: dict) -> None:
        for block in _fetch_blocks(raw, query, params):
            if not self._put(block):
                return
        self._put(None)

    def _put(self, item) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def blocks(self) -> Iterator[tuple[int, str]]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)
