"""Sanity checks on ticks before anyone sees them, with counters of what was dropped and why.

A bad print (zero, NaN, a 50% jump from a fat finger or a unit change, a timestamp going back)
would otherwise reach every chart and trigger alerts; dropping it and counting it keeps the
stream trustworthy and the problem visible in the feed status.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trading_app.market_data.ticks import Tick

log = logging.getLogger("tradingsim.feed")

REASONS = ("non_positive", "not_a_number", "jump", "old_timestamp")


@dataclass(slots=True)
class _Last:
    price: Decimal
    timestamp: datetime
    source: str


class TickValidator:
    """Drops non-positive, NaN/infinite, wildly jumping or time-travelling ticks, per symbol.

    The jump and timestamp checks compare with the last accepted tick of the same symbol *from
    the same source*: after a failover the new source's level and clock may differ, so the first
    tick of the new source re-anchors the symbol instead of being dropped forever.
    """

    def __init__(self, max_jump_pct: Decimal = Decimal("20")) -> None:
        self.max_jump = Decimal(max_jump_pct) / 100
        self.last: dict[str, _Last] = {}
        self.dropped: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self.accepted = 0

    def check(self, tick: Tick) -> str | None:
        """The reason to drop `tick`, or None if it is acceptable (does not record it)."""
        price = tick.price
        if not isinstance(price, Decimal) or not price.is_finite():
            return "not_a_number"
        if price <= 0:
            return "non_positive"
        last = self.last.get(tick.symbol)
        if last is None or last.source != tick.source:
            return None
        if tick.timestamp < last.timestamp:
            return "old_timestamp"
        if abs(price - last.price) > self.max_jump * last.price:
            return "jump"
        return None

    def accept(self, tick: Tick) -> bool:
        """Validate and, if good, remember `tick` as the symbol's last; count drops."""
        reason = self.check(tick)
        if reason is not None:
            self.dropped[reason] += 1
            log.warning(
                "dropped %s tick from %s: %s (price %s at %s)",
                tick.symbol,
                tick.source,
                reason,
                tick.price,
                tick.timestamp.isoformat(),
            )
            return False
        previous = self.last.get(tick.symbol)
        if previous is not None and previous.source != tick.source:
            log.info(
                "%s now priced by %s (was %s): validation re-anchored at %s",
                tick.symbol,
                tick.source,
                previous.source,
                tick.price,
            )
        self.last[tick.symbol] = _Last(tick.price, tick.timestamp, tick.source)
        self.accepted += 1
        return True

    def counters(self) -> dict:
        return {
            "accepted": self.accepted,
            "dropped": dict(self.dropped),
            "dropped_total": sum(self.dropped.values()),
        }
