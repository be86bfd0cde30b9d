"""What one account's position and open orders in one instrument count for, worst case.

Open orders are counted as if they all filled: a pending buy can raise a long position, a pending
sell can deepen a short one, and neither can be assumed to cancel the other. The two functions are
pure so that the check (with the incoming order added) and the bookkeeping (after fills and
cancels) compute exactly the same numbers.
"""

from __future__ import annotations

from decimal import Decimal

ZERO = Decimal("0")


def worst_long(pos: int, open_buy: int) -> int:
    """The largest long position the account can reach if every open buy fills."""
    return pos + open_buy


def worst_short(pos: int, open_sell: int) -> int:
    """The largest short position (as a positive number) if every open sell fills."""
    return open_sell - pos


def gross_term(pos: int, open_buy: int, open_sell: int, mark: Decimal) -> Decimal:
    """Gross exposure of the instrument: the worse of the two sides, valued at the mark."""
    a = pos + open_buy
    b = open_sell - pos
    worst = a if a > b else b
    if worst < 0:
        worst = -worst
    return worst * mark


def cash_required(
    pos: int,
    open_buy: int,
    open_buy_notional: Decimal,
    open_sell: int,
    mark: Decimal,
    margin: Decimal,
) -> Decimal:
    """Cash this instrument holds back from the account's buying power.

    - open buys: their notional, except the part that only covers an existing short (that cash
      is already held back as the short's liability);
    - an existing short: its liability (the sale proceeds sit in cash but are owed);
    - every share that is or may become short (position and open sells): the instrument's
      margin_requirement times its value.
    """
    required = open_buy_notional
    if pos < 0:
        short = -pos
        cover = open_buy if open_buy < short else short
        if cover and open_buy:
            required -= open_buy_notional * cover / open_buy
        required += short * mark
    shortable = open_sell - pos
    if shortable > 0:
        required += shortable * mark * margin
    return required
