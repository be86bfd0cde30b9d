"""SQLite's path for a batch (the embedded default): one executemany per statement.

The ORM path it replaces cost most of `make run`'s order throughput: `bulk_update` builds a
CASE WHEN per field per row, and `update_or_create` is a savepoint, a SELECT and an UPDATE per
position. Here each kind of row is one prepared statement run over the batch's rows, with
values written exactly as the ORM writes them (UUIDs as 32 hex digits, aware datetimes as naive
UTC text, Decimals through the driver's adapter as text, cash moved as a NUMERIC delta), so
rows read back the same and the tests hold for both paths. PostgreSQL has its own (COPY).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from django.db import connection

from trading_app.matching_worker.batch import BatchResult
from trading_app.matching_worker.persistence_pg import (
    ACCOUNT_TABLE,
    ORDER_INSERT_COLUMNS,
    ORDER_TABLE,
    ORDER_UPDATE_COLUMNS,
    POSITION_TABLE,
    TRADE_COLUMNS,
    TRADE_TABLE,
)
from trading_app.matching_worker.state import LiveOrder
from trading_app.models import Position

KEYS_PER_QUERY = 400  # (a, b) pairs per row-value IN: 800 parameters, under any SQLite's limit


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"


INSERT_ORDERS = _insert_sql(ORDER_TABLE, ORDER_INSERT_COLUMNS)
UPDATE_ORDERS = (
    f"UPDATE {ORDER_TABLE} SET {', '.join(f'{c} = %s' for c in ORDER_UPDATE_COLUMNS[1:])} "
    "WHERE id = %s"
)
INSERT_TRADES = _insert_sql(TRADE_TABLE, TRADE_COLUMNS)
UPSERT_POSITIONS = f"""
INSERT INTO {POSITION_TABLE} (account_id, instrument_id, qty, avg_cost, realized_pnl, updated_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (account_id, instrument_id) DO UPDATE SET
    qty = excluded.qty, avg_cost = excluded.avg_cost, realized_pnl = excluded.realized_pnl,
    updated_at = excluded.updated_at
"""
# The ORM's F("cash") + delta on SQLite, word for word.
MOVE_CASH = (
    f"UPDATE {ACCOUNT_TABLE} SET cash = CAST((cash + CAST(%s AS NUMERIC)) AS NUMERIC) WHERE id = %s"
)


def _dt(value: datetime | None) -> str | None:
    """Django's SQLite form of an aware datetime: naive UTC, str() (no fraction when zero)."""
    return None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))


def _uuid(value: UUID | None) -> str | None:
    return None if value is None else value.hex


def _adapt(value):
    """A LiveOrder attribute as the ORM stores it in SQLite (other values pass as they are)."""
    if isinstance(value, datetime):
        return _dt(value)
    if isinstance(value, UUID):
        return value.hex
    return value


_UPDATED_AT = ORDER_INSERT_COLUMNS.index("updated_at")


def _insert_row(o: LiveOrder) -> tuple:
    """The row in ORDER_INSERT_COLUMNS' order (LiveOrder names its attributes after them)."""
    row = [_adapt(getattr(o, column)) for column in ORDER_INSERT_COLUMNS]
    if o.updated_at is None:
        row[_UPDATED_AT] = _dt(o.created_at)
    return tuple(row)


def _update_row(o: LiveOrder) -> tuple:
    """UPDATE_ORDERS' parameters: the changed columns, then the id."""
    return (*(_adapt(getattr(o, column)) for column in ORDER_UPDATE_COLUMNS[1:]), o.id.hex)


def _trade_rows(result: BatchResult):
    for f in result.fills:
        maker_side = "sell" if f.taker_side == "buy" else "buy"
        stamp = _dt(f.timestamp)
        for order, side, liquidity in (
            (f.taker, f.taker_side, "taker"),
            (f.maker, maker_side, "maker"),
        ):
            yield (
                order.account_id,
                f.instrument_id,
                f.symbol,
                side,
                f.price,
                f.qty,
                stamp,
                _uuid(order.id),
                "exchange",
                f.execution_id,
                liquidity,
            )


def write_orders_and_trades(result: BatchResult) -> None:
    """Must run inside the batch's transaction."""
    inserts = [_insert_row(o) for o in result.touched.values() if o.is_new_row]
    updates = [_update_row(o) for o in result.touched.values() if not o.is_new_row]
    with connection.cursor() as cursor:
        if inserts:
            cursor.executemany(INSERT_ORDERS, inserts)
        if updates:
            cursor.executemany(UPDATE_ORDERS, updates)
        if result.fills:
            cursor.executemany(INSERT_TRADES, list(_trade_rows(result)))


def upsert_positions(values: dict[tuple[int, int], tuple], now: datetime) -> None:
    stamp = _dt(now)
    rows = [(a, i, qty, avg, realized, stamp) for (a, i), (qty, avg, realized) in values.items()]
    with connection.cursor() as cursor:
        cursor.executemany(UPSERT_POSITIONS, rows)


def move_cash(deltas: dict[int, object]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(MOVE_CASH, [(delta, account) for account, delta in deltas.items()])


def _pairs_in(keys: list[tuple], sql: str):
    """Run `sql` (with {pairs}: a row-value IN list) over keys in chunks; yield the rows."""
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start : start + KEYS_PER_QUERY]
        pairs = ", ".join(["(%s, %s)"] * len(chunk))
        params = [value for key in chunk for value in key]
        yield sql.format(pairs=pairs), params


def current_positions(keys: list[tuple[int, int]]) -> dict[tuple[int, int], tuple]:
    """(qty, avg_cost, realized) of exactly these positions (the ORM's IN x IN filter read every
    position of every account in the batch); Decimals through the model's own converters."""
    found = {}
    sql = (
        f"SELECT id, account_id, instrument_id, qty, avg_cost, realized_pnl FROM {POSITION_TABLE} "
        "WHERE (account_id, instrument_id) IN (VALUES {pairs})"
    )
    for query, params in _pairs_in(keys, sql):
        for p in Position.objects.raw(query, params):
            found[(p.account_id, p.instrument_id)] = (p.qty, p.avg_cost, p.realized_pnl)
    return found


def existing_client_order_ids(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """(account, client_order_id) -> (order id, status) for those already stored."""
    found = {}
    sql = (
        f"SELECT account_id, client_order_id, id, status FROM {ORDER_TABLE} "
        "WHERE (account_id, client_order_id) IN (VALUES {pairs})"
    )
    with connection.cursor() as cursor:
        for query, params in _pairs_in(keys, sql):
            cursor.execute(query, params)
            for account, coid, oid, status in cursor.fetchall():
                found[(account, coid)] = (UUID(oid), status)
    return found
