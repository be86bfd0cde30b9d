"""The stop book: untriggered stop and stop_limit orders of one instrument.

Stops trigger on the last trade price: a buy stop when last >= stop, a sell stop when last <= stop.
Each side is a list of entries kept sorted so the next stops to trigger are at the front:

* ``book.buy_stops``: (stop, seq, record) ascending, i.e. lowest stop first;
* ``book.sell_stops``: (-stop, seq, record) ascending, i.e. highest stop first.

``seq`` is the engine-wide arrival number, unique, so entries never compare their records and
equal stop prices keep arrival order. The engine keeps each waiting stop's entry (by order id) to
find it again for cancel and replace. Triggered stops come out in *trigger order*: by the trade
that triggered them, and for one trade in the order a price moving tick by tick would have
crossed them (nearest stop first), then by arrival; if one trade triggers both sides (possible
only while the book has no previous last price) buys come first. Stops are rare next to limit
orders, so sorted lists with bisect are plenty.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from matching.book import Book
from matching.codes import BUY
from matching.order import SIDE, STOP


def add_stop(book: Book, rec: list, seq: int) -> tuple:
    """File an untriggered stop record in its side's stop list; return its entry."""
    if rec[SIDE] == BUY:
        entry = (rec[STOP], seq, rec)
        insort(book.buy_stops, entry)
    else:
        entry = (-rec[STOP], seq, rec)
        insort(book.sell_stops, entry)
    return entry


def remove_stop(book: Book, entry: tuple) -> None:
    """Take an untriggered stop's entry out of its side's stop list."""
    entries = book.buy_stops if entry[2][SIDE] == BUY else book.sell_stops
    i = bisect_left(entries, entry)
    if i == len(entries) or entries[i] is not entry:
        raise LookupError(f"stop {entry[2][0]!r} is not in the stop book")
    del entries[i]


def pop_triggered(book: Book, first: int, last: int) -> list[list]:
    """Remove and return, in trigger order, the stops that one sweep's trades trigger.

    ``first`` and ``last`` are the sweep's first and last trade prices. A sweep's trades are
    monotone in price, so these two tell exactly which stops each of its trades triggered and
    when: the first trade triggers buy stops at or below it and sell stops at or above it (buys
    first if both, which needs a book without a previous last price); the trades after it can
    only keep moving the same way, triggering further buy stops (a rising sweep) or sell stops
    (a falling one), nearest first.
    """
    out: list[list] = []
    _take(book.buy_stops, first, out)
    _take(book.sell_stops, -first, out)
    if last != first:
        _take(book.buy_stops, last, out)
        _take(book.sell_stops, -last, out)
    return out


def _take(entries: list[tuple], bound: int, out: list[list]) -> None:
    """Move the records of the leading entries whose key is <= bound to ``out``."""
    if entries and entries[0][0] <= bound:
        n = 1
        end = len(entries)
        while n < end and entries[n][0] <= bound:
            n += 1
        out.extend(entry[2] for entry in entries[:n])
        del entries[:n]
