"""An account's equity from the gate's state, and its snapshots over time (written in bulk)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from trading_app.models import EquitySnapshot
from trading_app.risk.state import AccountRisk, InstrumentInfo

ZERO = Decimal("0")


def revalue(acct: AccountRisk, instruments: dict[int, InstrumentInfo]) -> None:
    """Mark positions to the latest prices: market value, equity and the day's P&L.

    The day's P&L is equity now minus equity at the start of the day: realized plus unrealized
    P&L for the day in one number (there are no deposits or withdrawals to correct for).
    """
    value = ZERO
    for iid, exp in acct.exposures.items():
        if exp.pos:
            info = instruments.get(iid)
            if info is not None and info.mark is not None:
                value += exp.pos * info.mark
    acct.market_value = value
    acct.equity = acct.cash + value
    acct.day_pnl = acct.equity - acct.sod_equity if acct.sod_equity is not None else ZERO
    acct.loss_breached = acct.day_pnl < -acct.limits.max_daily_loss


def gross_positions(acct: AccountRisk, instruments: dict[int, InstrumentInfo]) -> Decimal:
    """Gross exposure of the positions alone (open orders not counted), for snapshots."""
    total = ZERO
    for iid, exp in acct.exposures.items():
        info = instruments.get(iid)
        if exp.pos and info is not None and info.mark is not None:
            total += abs(exp.pos) * info.mark
    return total


def snapshot_rows(
    accounts: Iterable[AccountRisk], instruments: dict[int, InstrumentInfo], now: datetime
) -> list[EquitySnapshot]:
    return [
        EquitySnapshot(
            account_id=a.account_id,
            timestamp=now,
            cash=a.cash,
            market_value=a.market_value,
            gross_exposure=gross_positions(a, instruments),
            equity=a.equity,
        )
        for a in accounts
    ]


def write_snapshots(
    accounts: Iterable[AccountRisk], instruments: dict[int, InstrumentInfo], now: datetime
) -> int:
    """One INSERT for all of them: equity history must never slow the order path down."""
    rows = snapshot_rows(accounts, instruments, now)
    if rows:
        EquitySnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
