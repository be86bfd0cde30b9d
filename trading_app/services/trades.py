"""Manual trades (003's POST /api/trades/): the user's own bookkeeping, reflected in positions.

Exchange fills are written only by the matching worker and are never edited here.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading_app.models import Account, Instrument, Position, Trade, TradeSource
from trading_app.services.accounts import adjust_cash
from trading_app.services.position_math import apply_fill, cash_delta

# Account.cash and Position.realized_pnl hold 16 integer digits; one trade may move at most this
# much, so that a single entry cannot overflow them (a 500 on PostgreSQL, an unreadable row on SQLite).
MAX_TRADE_NOTIONAL = Decimal("1000000000000")


class TradeReadOnly(Exception):
    pass


def _rebuild_position(account: Account, instrument: Instrument) -> None:
    """Replay the account's trades in this instrument: edits in the past stay consistent."""
    qty, avg, realized = 0, Decimal("0"), Decimal("0")
    rows = Trade.objects.filter(account=account, instrument=instrument).order_by("timestamp", "id")
    for side, price, quantity in rows.values_list("side", "price", "quantity").iterator():
        qty, avg, realized = apply_fill(
            qty, avg, realized, quantity if side == "buy" else -quantity, price
        )
    Position.objects.update_or_create(
        account=account,
        instrument=instrument,
        defaults={"qty": qty, "avg_cost": avg, "realized_pnl": realized},
    )


def _move_cash(account: Account, amount: Decimal) -> None:
    adjust_cash(account.pk, amount)  # the risk gate re-reads cash and positions next batch


@transaction.atomic
def create_manual_trade(
    account: Account,
    instrument: Instrument,
    side: str,
    price: Decimal,
    quantity: int,
    timestamp=None,
) -> Trade:
    trade = Trade.objects.create(
        account=account,
        instrument=instrument,
        ticker=instrument.symbol,
        side=side,
        price=price,
        quantity=quantity,
        timestamp=timestamp or timezone.now(),
        source=TradeSource.MANUAL,
    )
    _move_cash(account, cash_delta(side, quantity, price))
    _rebuild_position(account, instrument)
    return trade


@transaction.atomic
def update_manual_trade(trade: Trade, **changes) -> Trade:
    if trade.is_exchange_fill:
        raise TradeReadOnly("exchange fills are read-only: they are the record of an execution")
    old_instrument = trade.instrument
    _move_cash(trade.account, -cash_delta(trade.side, trade.quantity, trade.price))
    for field, value in changes.items():
        setattr(trade, field, value)
    if "instrument" in changes:
        trade.ticker = trade.instrument.symbol
    trade.save()
    _move_cash(trade.account, cash_delta(trade.side, trade.quantity, trade.price))
    _rebuild_position(trade.account, trade.instrument)
    if old_instrument.pk != trade.instrument.pk:
        _rebuild_position(trade.account, old_instrument)
    return trade


@transaction.atomic
def delete_manual_trade(trade: Trade) -> None:
    if trade.is_exchange_fill:
        raise TradeReadOnly("exchange fills are read-only: they are the record of an execution")
    _move_cash(trade.account, -cash_delta(trade.side, trade.quantity, trade.price))
    account, instrument = trade.account, trade.instrument
    trade.delete()
    _rebuild_position(account, instrument)
