"""Write one batch in one transaction: orders, both trade rows per fill, positions, cash, prices.

Positions are read under a row lock inside the transaction and updated from the fills, so a
manual trade committed through the API at the same moment is never overwritten. Cash moves as a
delta (`cash = cash + x`) for the same reason.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F

from trading_app.matching_worker import persistence_pg as pg
from trading_app.matching_worker.batch import BatchResult
from trading_app.matching_worker.state import LiveOrder
from trading_app.models import Account, Instrument, Order, Position, Trade, TradeSource
from trading_app.services.position_math import ZERO, apply_fill, cash_delta

# what the worker changes on an order it already wrote (the PostgreSQL path names them too)
ORDER_UPDATE_FIELDS = list(pg.ORDER_UPDATE_COLUMNS[1:])  # all but the id


def order_row(o: LiveOrder) -> Order:
    return Order(
        id=o.id,
        account_id=o.account_id,
        instrument_id=o.instrument_id,
        client_order_id=o.client_order_id,
        side=o.side,
        type=o.type,
        time_in_force=o.time_in_force,
        qty=o.qty,
        limit_price=o.limit_price,
        stop_price=o.stop_price,
        status=o.status,
        filled_qty=o.filled_qty,
        filled_avg_price=o.filled_avg_price,
        reject_reason=o.reject_reason,
        origin=o.origin,
        seq=o.seq,
        priority=o.priority,
        created_at=o.created_at,
        updated_at=o.updated_at or o.created_at,
        filled_at=o.filled_at,
        canceled_at=o.canceled_at,
        expired_at=o.expired_at,
        triggered_at=o.triggered_at,
    )


def trade_rows(result: BatchResult) -> list[Trade]:
    rows: list[Trade] = []
    for f in result.fills:
        maker_side = "sell" if f.taker_side == "buy" else "buy"
        for order, side, liquidity in (
            (f.taker, f.taker_side, "taker"),
            (f.maker, maker_side, "maker"),
        ):
            rows.append(
                Trade(
                    account_id=order.account_id,
                    instrument_id=f.instrument_id,
                    ticker=f.symbol,
                    side=side,
                    price=f.price,
                    quantity=f.qty,
                    timestamp=f.timestamp,
                    order_id=order.id,
                    source=TradeSource.EXCHANGE,
                    execution_id=f.execution_id,
                    liquidity=liquidity,
                )
            )
    return rows


def _fills_by_position(result: BatchResult):
    """(account, instrument) -> [(signed qty, price)] in execution order, and cash per account."""
    per_position: dict[tuple[int, int], list[tuple[int, Decimal]]] = defaultdict(list)
    cash: dict[int, Decimal] = defaultdict(Decimal)
    for f in result.fills:
        maker_side = "sell" if f.taker_side == "buy" else "buy"
        for order, side in ((f.taker, f.taker_side), (f.maker, maker_side)):
            signed = f.qty if side == "buy" else -f.qty
            per_position[(order.account_id, f.instrument_id)].append((signed, f.price))
            cash[order.account_id] += cash_delta(side, f.qty, f.price)
    return per_position, cash


def _apply_positions(per_position) -> dict[tuple[int, int], int]:
    """Apply the batch's fills to the locked positions; return the resulting quantities."""
    if not per_position:
        return {}
    keys = sorted(per_position)  # a stable lock order: two writers never deadlock
    postgres = connection.vendor == "postgresql"
    if postgres:
        current = pg.lock_positions(keys)
    else:
        current = {
            (p.account_id, p.instrument_id): (p.qty, p.avg_cost, p.realized_pnl)
            for p in Position.objects.select_for_update().filter(
                account_id__in={a for a, _ in keys}, instrument_id__in={i for _, i in keys}
            )
        }
    values: dict[tuple[int, int], tuple] = {}
    for key in keys:
        qty, avg, realized = current.get(key, (0, ZERO, ZERO))
        for signed, price in per_position[key]:
            qty, avg, realized = apply_fill(qty, avg, realized, signed, price)
        values[key] = (qty, avg, realized)
    if postgres:
        pg.upsert_positions(values)
    else:
        for (account_id, instrument_id), (qty, avg, realized) in values.items():
            Position.objects.update_or_create(
                account_id=account_id,
                instrument_id=instrument_id,
                defaults={"qty": qty, "avg_cost": avg, "realized_pnl": realized},
            )
    return {key: v[0] for key, v in values.items()}


def _move_cash(cash: dict[int, Decimal]) -> None:
    if not cash:
        return
    if connection.vendor == "postgresql":
        pg.move_cash(cash)
        return
    for account_id, delta in cash.items():
        Account.objects.filter(pk=account_id).update(cash=F("cash") + delta)


def _write_orders_and_trades_orm(result: BatchResult) -> None:
    inserts = [order_row(o) for o in result.touched.values() if o.is_new_row]
    updates = [order_row(o) for o in result.touched.values() if not o.is_new_row]
    if inserts:
        Order.objects.bulk_create(inserts, batch_size=1000)
    if updates:
        Order.objects.bulk_update(updates, ORDER_UPDATE_FIELDS, batch_size=500)
    if result.fills:
        Trade.objects.bulk_create(trade_rows(result), batch_size=1000)


def persist(result: BatchResult) -> dict[tuple[int, int], int]:
    """Write the batch atomically; return the position quantities after it (for reports)."""
    per_position, cash = _fills_by_position(result)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            pg.copy_orders_and_trades(result)
        else:
            _write_orders_and_trades_orm(result)
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
    wanted = set(keys)
    rows = Order.objects.filter(
        account_id__in={a for a, _ in keys}, client_order_id__in={c for _, c in keys}
    ).values_list("account_id", "client_order_id", "id", "status")
    return {(a, c): (oid, st) for a, c, oid, st in rows if (a, c) in wanted}
