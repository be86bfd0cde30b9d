"""The fill rules, shared by the backtester and (later) the live and replay adapters.

An order placed while bar t is being processed can only fill on a later bar, t+1 at the
earliest. That single rule is what keeps a backtest free of look-ahead: a decision made on
bar t's close never trades at a price from bar t.

* market order: fills at the next bar's open.
* limit buy: fills on the first later bar whose low <= limit, at min(open, limit)
  (a gap down through the limit fills at the better open, never better than that).
* limit sell: fills on the first later bar whose high >= limit, at max(open, limit).

Limit orders rest until filled or cancelled (good till cancelled). Orders fill in full: bar data
has no queue position or depth, so partial fills are not modelled.
"""

from __future__ import annotations

from .models import BUY


def fill_price(
    side: str, limit: float | None, bar_open: float, bar_high: float, bar_low: float
) -> float | None:
    """The price at which an order fills on this bar, or None if it does not fill."""
    if limit is None:
        return bar_open
    if side == BUY:
        if bar_low <= limit:
            return bar_open if bar_open < limit else limit
        return None
    if bar_high >= limit:
        return bar_open if bar_open > limit else limit
    return None
