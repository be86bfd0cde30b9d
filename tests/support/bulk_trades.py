"""Many Trade rows of one day, fast: COPY on PostgreSQL, bulk_create elsewhere.

For the export's memory test and bench/export.py, where creating rows one by one through the
ORM would take minutes. The rows look like a session (timestamps in order through 14:30-21:00
UTC, a few busy tickers, prices on a 0.01 grid doing a random walk, mostly round lots); they are
plain records, not the outcome of matching, which is all an export reads.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

_SESSION_START = timedelta(hours=14, minutes=30)
_SESSION_US = int(6.5 * 3600 * 1_000_000)
_LOTS = (1, 5, 10, 25, 50, 100, 100, 100, 200, 200, 300, 500, 1000, 137, 42)
COLUMNS = (
    "account_id",
    "instrument_id",
    "ticker",
    "side",
    "price",
    "quantity",
    "timestamp",
    "source",
    "liquidity",
)


def trade_rows(
    n: int, day: date, accounts: list[int], instruments: dict[str, int], seed: int = 1
) -> Iterator[tuple[Any, ...]]:
    """Yield n rows in COLUMNS order (ids, not objects), timestamps increasing."""
    rnd = random.Random(seed)
    symbols = sorted(instruments)
    weights = [1.0 / (rank + 1) for rank in range(len(symbols))]
    mids = {s: rnd.randint(2_000, 60_000) for s in symbols}  # cents
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + _SESSION_START
    columns = zip(  # drawn in bulk: a million rows in seconds, not minutes
        rnd.choices(symbols, weights, k=n),
        rnd.choices(range(-3, 4), k=n),  # mid-price step, cents
        rnd.choices(range(-2, 3), k=n),  # trade price around the mid
        rnd.choices(_LOTS, k=n),
        rnd.choices(("buy", "sell"), k=n),
        rnd.choices(accounts, k=n),
        strict=True,
    )
    for i, (symbol, step, spread, quantity, side, account) in enumerate(columns):
        mid = mids[symbol] = max(100, mids[symbol] + step)
        yield (
            account,
            instruments[symbol],
            symbol,
            side,
            Decimal(mid + spread).scaleb(-2),
            quantity,
            start + timedelta(microseconds=_SESSION_US * i // (n + 1)),
            "exchange",
            "taker",
        )


def bulk_load_trades(
    n: int,
    day: date,
    accounts: list[int],
    instruments: dict[str, int],
    *,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Insert n trades of `day`; progress(rows so far) every 100,000 rows."""
    from trading_app.models import Trade

    rows = trade_rows(n, day, accounts, instruments, seed)
    if connection.vendor == "postgresql":
        statement = f"COPY {Trade._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
        connection.ensure_connection()
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for done, row in enumerate(rows, 1):
                copy.write_row(row)
                if progress and done % 100_000 == 0:
                    progress(done)
        return
    # Elsewhere (SQLite): executemany with the backend's own value adaptation, which is what
    # bulk_create does minus building 100,000 model instances.
    ops = connection.ops
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    statement = f"INSERT INTO {Trade._meta.db_table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    batch: list[tuple[Any, ...]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for done, (account, instrument, ticker, side, price, qty, stamp, source, liq) in enumerate(
            rows, 1
        ):
            batch.append(
                (
                    account,
                    instrument,
                    ticker,
                    side,
                    ops.adapt_decimalfield_value(price, 20, 6),
                    qty,
                    ops.adapt_datetimefield_value(stamp),
                    source,
                    liq,
                )
            )
            if len(batch) == 10_000:
                cursor.executemany(statement, batch)
                batch.clear()
            if progress and done % 100_000 == 0:
                progress(done)
        if batch:
            cursor.executemany(statement, batch)
