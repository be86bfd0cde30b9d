"""The gate's database reads: one query per table, only for the accounts asked for.

Called at most once per batch per account (and for instruments, about once a second), so the
checks themselves never touch the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery

from trading_app.models import Account, EquitySnapshot, Instrument, Position
from trading_app.risk.state import InstrumentInfo


def load_instruments() -> dict[int, InstrumentInfo]:
    """Every instrument's mark (last trade, else reference price) and per-instrument limits."""
    rows = Instrument.objects.values_list(
        "id", "symbol", "last_price", "reference_price", "margin_requirement", "max_position"
    )
    return {
        iid: InstrumentInfo(
            iid, symbol, last if last is not None else ref, margin or Decimal(0), max_pos
        )
        for iid, symbol, last, ref, margin, max_pos in rows
    }


def load_accounts(ids: Collection[int]) -> dict[int, tuple[Decimal, bool, str]]:
    """account id -> (cash, halted, halted_reason)."""
    return {
        row[0]: row[1:]
        for row in Account.objects.filter(id__in=ids).values_list(
            "id", "cash", "halted", "halted_reason"
        )
    }


def load_positions(ids: Collection[int]) -> dict[int, dict[int, int]]:
    """account id -> {instrument id: signed quantity} (zero positions left out)."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    rows = (
        Position.objects.filter(account_id__in=ids)
        .exclude(qty=0)
        .values_list("account_id", "instrument_id", "qty")
    )
    for account_id, instrument_id, qty in rows:
        out[account_id][instrument_id] = qty
    return out


def day_start(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: the daily loss limit's day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def load_baselines(ids: Collection[int], now: datetime) -> dict[int, Decimal | None]:
    """Start-of-day equity per account: the last snapshot before midnight, else the first one
    today, else None (the caller then takes the current equity and records it)."""
    midnight = day_start(now)
    before = EquitySnapshot.objects.filter(account_id=OuterRef("pk"), timestamp__lt=midnight)
    today = EquitySnapshot.objects.filter(
        account_id=OuterRef("pk"),
        timestamp__gte=midnight,
        timestamp__lt=midnight + timedelta(days=1),
    )
    rows = (
        Account.objects.filter(id__in=ids)
        .annotate(
            before=Subquery(before.order_by("-timestamp").values("equity")[:1]),
            first_today=Subquery(today.order_by("timestamp").values("equity")[:1]),
        )
        .values_list("id", "before", "first_today")
    )
    return {i: (b if b is not None else t) for i, b, t in rows}
