"""`export_trades`' service: one UTC day of trades as a CSV in the store, streamed end to end.

The CSV is the contract in docs/architecture.md ("Trade CSV") that the Lambda reads:
`trade_id,timestamp,ticker,side,price,quantity,account,order_id,source`, one row per account
side (Trade), ordered by (timestamp, id) so that exporting a day twice gives the same bytes.

- timestamp: UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the Lambda's fast-path form;
- price: the stored Decimal in plain notation, trailing zeros trimmed to at least 2 decimals
  (150.500000 -> 150.50, 150.123400 -> 150.1234): exact, and what a person expects to read;
- account: the username (the Lambda does not interpret it; a name is what a reader wants);
- order_id: the order's UUID, empty for manual trades.

On PostgreSQL the server formats the lines itself and joins them AGG_LINES at a time, read through
a server-side cursor: Python then handles ~500 blocks per million rows instead of a million rows
(COPY TO STDOUT hands rows over one at a time: 4.5 s of Python per million, against 0.24 s).
Formatting is the server's work (~3 s of one core per million rows), so a big day is cut into
SEGMENTS consecutive time windows formatted by as many backends at once, all reading one
snapshot (pg_export_snapshot, as pg_dump's parallel mode does): the file is the same as from one
query, and each backend's result waits on the server, not in our memory, until its turn.
Elsewhere (the SQLite default) the ORM streams rows with .iterator() and Python formats them
identically. Either way memory holds one block of rows plus the upload parts in flight, whatever
the day's size.
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
            f"{trade_id},{stamp:%Y-%m-%dT%H:%M:%S.%f}Z,{csv_field(ticker)},{side},"
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


AGG_LINES = 2000  # CSV lines PostgreSQL joins into one fetched row


def _line_sql() -> tuple[str, str, str]:
    """One CSV line per trade, built by PostgreSQL exactly as csv_field/format_price build it;
    the ORDER BY that fixes the file's order; the FROM/WHERE of one day."""
    user = get_user_model()
    trade, account = Trade._meta, Account._meta
    username = user._meta.get_field(user.USERNAME_FIELD).column
    price = f"t.{_col(trade, 'price')}"

    def quoted(expr: str) -> str:
        return (
            f"CASE WHEN {expr} ~ '[,\"\\n\\r]' "
            f"THEN '\"' || replace({expr}, '\"', '\"\"') || '\"' ELSE {expr} END"
        )

    line = f"""concat_ws(',',
        t.id,
        to_char(t.{_col(trade, "timestamp")} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        {quoted(f"t.{_col(trade, 'ticker')}")},
        t.{_col(trade, "side")},
        CASE WHEN scale(trim_scale({price})) < 2 THEN round({price}, 2)::text
             ELSE trim_scale({price})::text END,
        t.{_col(trade, "quantity")},
        {quoted(f"u.{username}")},
        coalesce(t.{_col(trade, "order")}::text, ''),
        t.{_col(trade, "source")}) || E'\\n'"""
    order = f"t.{_col(trade, 'timestamp')}, t.id"
    source = f"""FROM {trade.db_table} t
        JOIN {account.db_table} a ON a.id = t.{_col(trade, "account")}
        JOIN {user._meta.db_table} u ON u.{user._meta.pk.column} = a.{_col(account, "user")}
        WHERE t.{_col(trade, "timestamp")} >= %s AND t.{_col(trade, "timestamp")} < %s"""
    return line, order, source


SEGMENTS = 2  # backends formatting one day at once: the cores of the machines we measure on
SEGMENT_MIN_ROWS = 100_000  # below this a second backend costs more than it saves
_BLOCKS_AHEAD = 2  # blocks a segment's thread holds before its turn comes


def _server_blocks(start: datetime, end: datetime) -> Iterator[bytes]:
    line, order, source = _line_sql()
    query = f"""
        SELECT string_agg(line, '' ORDER BY n)
        FROM (SELECT {line} AS line, row_number() OVER (ORDER BY {order}) - 1 AS n {source}) x
        GROUP BY n / {AGG_LINES}
        ORDER BY n / {AGG_LINES}
    """
    connection.ensure_connection()
    # Other connections share our snapshot only if the transaction is ours from its start (not
    # inside a caller's, whose uncommitted rows they could not see anyway).
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        bounds = [start, end]
        if own_transaction:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            bounds = _segment_bounds(cursor, source, start, end)
        others = []
        if len(bounds) > 2:
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            windows = zip(bounds[1:-1], bounds[2:], strict=True)
            others = [_SegmentThread(query, snapshot, lo, hi) for lo, hi in windows]
        try:
            for thread in others:
                thread.start()
            yield from _fetch_blocks(connection.connection, query, bounds[0], bounds[1])
            for thread in others:
                yield from thread.blocks()
        finally:
            for thread in others:
                thread.stop()


def _segment_bounds(cursor, source: str, start: datetime, end: datetime) -> list[datetime]:
    """[start, t1, ..., end]: SEGMENTS windows of about equal row counts.

    The cuts are timestamps, so trades that share one stay in one window and each window in
    (timestamp, id) order, concatenated, is the whole day in that order.
    """
    cursor.execute(f"SELECT count(*) {source}", (start, end))
    (rows,) = cursor.fetchone()
    if rows < SEGMENT_MIN_ROWS:
        return [start, end]
    trade = Trade._meta
    stamp = f"t.{_col(trade, 'timestamp')}"
    cuts = [start]
    for k in range(1, SEGMENTS):
        cursor.execute(
            f"SELECT {stamp} {source} ORDER BY {stamp} OFFSET %s LIMIT 1",
            (start, end, rows * k // SEGMENTS),
        )
        cut = cursor.fetchone()[0]
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(end)
    return cuts


def _fetch_blocks(raw_connection, query: str, lo: datetime, hi: datetime) -> Iterator[bytes]:
    """One window's blocks through a server-side cursor of an open transaction."""
    with raw_connection.cursor(name="trade_export") as cursor:
        cursor.itersize = 8
        cursor.execute(query, (lo, hi))
        for (text,) in cursor:
            yield text.encode()


class _SegmentThread(threading.Thread):
    """Formats one window on its own connection, in the exporting transaction's snapshot.

    Its first fetch makes the server format and sort the whole window (in parallel with the
    other windows); the blocks then wait, _BLOCKS_AHEAD at most in our memory, until `blocks`
    is read. `stop` ends it early (the consumer failed) and closes its connection either way.
    """

    def __init__(self, query: str, snapshot: str, lo: datetime, hi: datetime) -> None:
        super().__init__(name=f"trade-export {lo:%H:%M:%S}", daemon=True)
        self._args = (query, snapshot, lo, hi)
        self._queue: queue.Queue = queue.Queue(maxsize=_BLOCKS_AHEAD)
        self._stopped = threading.Event()

    def run(self) -> None:
        query, snapshot, lo, hi = self._args
        db = connections.create_connection("default")
        try:
            db.ensure_connection()
            raw = db.connection
            with raw.transaction():
                raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                raw.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                for block in _fetch_blocks(raw, query, lo, hi):
                    if not self._put(block):
                        return
            self._put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
        finally:
            db.close()

    def _put(self, item) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def blocks(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)
