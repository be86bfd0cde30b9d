"""The layout of an order record.

A live order is a plain ``list`` indexed by the constants below, not an instance of a class:
building an 11-slot list literal costs ~60-100 ns in this CPython 3.11 against ~440 ns for a
``__slots__`` class with an ``__init__`` (measured here), and more than half of all messages
create one. The
hot paths in `matching.engine` and `matching.matcher` build the literal inline in this order;
everything else goes through `new_order` so the layout is spelled out in one place.

A record whose REMAINING is 0 while it still sits in a level's deque is *dead* (canceled or
replaced away): levels delete lazily, the matcher skips and drops dead records as it meets them.
"""

from __future__ import annotations

from typing import Any

ID = 0  # caller's order id (int)
ACCOUNT = 1  # account id; self-trade prevention compares these
REMAINING = 2  # open quantity; 0 = dead
PRICE = 3  # limit price in ticks, None for market and stop (market-on-trigger) orders
SIDE = 4  # codes.BUY / codes.SELL
QTY = 5  # total order quantity (replace changes it); filled = QTY - REMAINING
TIF = 6  # codes.GTC / DAY / IOC / FOK
TYPE = 7  # codes.LIMIT / MARKET / STOP / STOP_LIMIT, as submitted
STOP = 8  # stop price in ticks or None
BOOK = 9  # the matching.book.Book it belongs to
STATE = 10  # RESTING (in a price level, or being matched) or WAITING (in the stop book)

RESTING = 0
WAITING = 1


def new_order(
    order_id: Any,
    account_id: int,
    remaining: int,
    price: int | None,
    side: int,
    qty: int,
    tif: int,
    order_type: int,
    stop_price: int | None,
    book: Any,
    state: int,
) -> list:
    """Build a record in the layout above (the slow paths use this; hot paths inline it)."""
    return [
        order_id,
        account_id,
        remaining,
        price,
        side,
        qty,
        tif,
        order_type,
        stop_price,
        book,
        state,
    ]
