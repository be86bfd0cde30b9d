"""Write one batch in one transaction: orders, both trade rows per fill, positions, cash, prices.

Positions are read under a row lock inside the transaction and updated from the fills, so a
manual trade committed through the API at the same moment is never overwritten. Cash moves as a
delta (`cash = cash + x`) for the same reason. The rows go out through each backend's bulk
path: COPY on PostgreSQL (persistence_pg), executemany on SQLite (persistence_sqlite).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from trading_app.matching_worker import persistence_pg as pg
from trading_app.matching_worker import persistence_sqlite as sqlite
from trading_app.matching_worker.batch import BatchResult
from trading_app.models import Instrument
from trading_app.services.position_math import ZERO, apply_fill, cash_delta


def _fills_by_position(result: BatchResult):
    """(account, instrument) -> [(signed qty, price, execution id)] in execution order, and
    cash per account."""
    per_position: dict[tuple[int, int], list[tuple[int, Decimal, int]]] = defaultdict(list)
    cash: dict[int, Decimal] = defaultdict(Decimal)
    for f in result.fills:
        maker_side = "sell" if f.taker_side == "buy" else "buy"
        for order, side in ((f.taker, f.taker_side), (f.maker, maker_side)):
            signed = f.qty if side == "buy" else -f.qty
            per_position[(order.account_id, f.instrument_id)].append(
                (signed, f.price, f.execution_id)
            )
            cash[order.account_id] += cash_delta(side, f.qty, f.price)
    return per_position, cash


def _apply_positions(per_position) -> dict[tuple[int, int], int]:
    """Apply the batch's fills to the locked positions; return the position quantity right
    after each fill, by (account, execution id) (an account is on one side of a fill only)."""
    if not per_position:
        return {}
    keys = sorted(per_position)  # a stable lock order: two writers never deadlock
    postgres = connection.vendor == "postgresql"
    # PostgreSQL locks the rows; SQLite's transaction holds the database's write lock already.
    current = pg.lock_positions(keys) if postgres else sqlite.current_positions(keys)
    values: dict[tuple[int, int], tuple] = {}
    after_fill: dict[tuple[int, int], int] = {}
    for key in keys:
        qty, avg, realized = current.get(key, (0, ZERO, ZERO))
        for signed, price, execution_id in per_position[key]:
            qty, avg, realized = apply_fill(qty, avg, realized, signed, price)
            after_fill[(key[0], execution_id)] = qty
        values[key] = (qty, avg, realized)
    if postgres:
        pg.upsert_positions(values)
    else:
        sqlite.upsert_positions(values, timezone.now())
    return after_fill


def _move_cash(cash: dict[int, Decimal]) -> None:
    if not cash:
        return
    if connection.vendor == "postgresql":
        pg.move_cash(cash)
    else:
        sqlite.move_cash(cash)


def persist(result: BatchResult) -> dict[tuple[int, int], int]:
    """Write the batch atomically; return each fill's position quantity after it, by
    (account, execution id), for the fill reports."""
    per_position, cash = _fills_by_position(result)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            pg.copy_orders_and_trades(result)
        else:
            sqlite.write_orders_and_trades(result)
        positions = _apply_positions(per_position)
        _move_cash(cash)
        for symbol, (price, ts) in result.last_prices.items():
            Instrument.objects.filter(symbol=symbol).update(last_price=price, last_trade_at=ts)
    for o in result.touched.values():
        o.is_new_row = False
        o.changed_fields.clear()
    return positions


def existing_client_order_ids(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """(account, client_order_id) -> (order id, status) for those already in the database."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        return pg.existing_client_order_ids(keys)
    return sqlite.existing_client_order_ids(keys)
