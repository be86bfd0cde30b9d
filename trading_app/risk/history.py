"""The series the metrics are computed from, read in few, aggregated queries.

- equity: EquitySnapshot rows (daily closes for equity-history VaR; the whole series for drawdown);
- instrument prices: one-minute VWAP bars of exchange trades (one row per execution: the taker's),
  the "recent trade prices" fallback for VaR and the volatility used for position sizing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Max, Sum
from django.db.models.functions import TruncDate, TruncMinute

from trading_app.models import EquitySnapshot, Trade

MAX_DAYS = 250
MAX_BARS = 1000


def bars_per_day() -> int:
    """Minutes of trading in a day for square-root-of-time scaling (US equities: 6.5 h)."""
    return int(getattr(settings, "RISK_BARS_PER_DAY", 390))


def lookback() -> timedelta:
    return timedelta(hours=float(getattr(settings, "RISK_RETURNS_LOOKBACK_HOURS", 120)))


def daily_closes(account_id: int, now: datetime) -> list[tuple[datetime, Decimal]]:
    """The last snapshot of each UTC day (up to MAX_DAYS days), oldest first."""
    since = now - timedelta(days=MAX_DAYS + 1)
    last_per_day = (
        EquitySnapshot.objects.filter(account_id=account_id, timestamp__gte=since)
        .annotate(day=TruncDate("timestamp"))
        .values("day")
        .annotate(last=Max("timestamp"))
        .values_list("last", flat=True)
    )
    stamps = list(last_per_day)
    if not stamps:
        return []
    rows = EquitySnapshot.objects.filter(account_id=account_id, timestamp__in=stamps).values_list(
        "timestamp", "equity"
    )
    by_time = dict(rows)
    return [(t, by_time[t]) for t in sorted(by_time)]


def equity_series(account_id: int, since: datetime | None = None) -> list[tuple[datetime, Decimal]]:
    qs = EquitySnapshot.objects.filter(account_id=account_id)
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    return list(qs.order_by("timestamp").values_list("timestamp", "equity"))


def minute_bars(
    instrument_ids: Collection[int], now: datetime
) -> dict[int, list[tuple[datetime, Decimal]]]:
    """instrument id -> [(minute, VWAP)] of exchange trades in the lookback, oldest first."""
    if not instrument_ids:
        return {}
    rows = (
        Trade.objects.filter(
            instrument_id__in=instrument_ids,
            source="exchange",
            liquidity="taker",
            timestamp__gte=now - lookback(),
        )
        .annotate(bar=TruncMinute("timestamp"))
        .values("instrument_id", "bar")
        .annotate(notional=Sum(F("price") * F("quantity")), qty=Sum("quantity"))
        .order_by("bar")
    )
    out: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for row in rows:
        if row["qty"]:
            out[row["instrument_id"]].append((row["bar"], Decimal(row["notional"]) / row["qty"]))
    return {i: bars[-MAX_BARS:] for i, bars in out.items()}


def aligned_returns(bars: dict[int, list[tuple[datetime, Decimal]]]) -> dict[int, list[Decimal]]:
    """Per-minute returns on the common grid of minutes (union of all instruments' bars), each
    price carried forward through minutes without a trade, starting once every instrument has
    a price. An instrument with fewer than two bars is left out."""
    usable = {i: b for i, b in bars.items() if len(b) >= 2}
    if not usable:
        return {}
    grid = sorted({t for b in usable.values() for t, _ in b})
    prices: dict[int, dict[datetime, Decimal]] = {i: dict(b) for i, b in usable.items()}
    last: dict[int, Decimal | None] = dict.fromkeys(usable)
    series: dict[int, list[Decimal]] = {i: [] for i in usable}
    for t in grid:
        for i in usable:
            p = prices[i].get(t)
            if p is not None:
                last[i] = p
        if all(v is not None for v in last.values()):
            for i in usable:
                series[i].append(last[i])
    returns: dict[int, list[Decimal]] = {}
    for i, ps in series.items():
        returns[i] = [ps[k] / ps[k - 1] - 1 for k in range(1, len(ps))]
    return returns


def instrument_returns(bars: list[tuple[datetime, Decimal]]) -> list[Decimal]:
    """One instrument's own per-minute returns (bar to bar), for its volatility."""
    prices = [p for _, p in bars]
    return [prices[k] / prices[k - 1] - 1 for k in range(1, len(prices))]
