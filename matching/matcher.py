"""The sweep: an incoming (taker) order against the opposite side of one book.

This is the hot loop of the exchange, so it is written for CPython's benefit rather than for
elegance: everything it touches is bound to a local first, order records are indexed with
literal positions (see `matching.order`: 0 ID, 1 ACCOUNT, 2 REMAINING), the two sides are two
copies of the same loop instead of one loop with side tests, and the level's quantity is kept in
a local and written back once per level.

Rules applied here: strict price-time priority (best price first, FIFO within a level), the fill
price is the resting (maker) order's price, and self-trade prevention: meeting a resting order of
the taker's own account stops the sweep (fills before that point stand; the caller cancels the
remainder).
"""

from __future__ import annotations

from matching.book import Book
from matching.codes import BUY, SELL
from matching.events import FILL


def sweep_buy(book: Book, taker: list, limit: float, index: list, events: list) -> bool:
    """Fill a buy taker against asks priced <= limit; return True if self-trade prevention hit.

    Updates ``taker[REMAINING]``, the levels, the engine's ``index`` of live orders by id (the
    makers that fill completely leave it; see engine._SHARDS for the layout),
    ``book.last`` and the changed-level set, and appends one FILL event per execution.
    """
    asks = book.asks
    keys = book.ask_keys
    changed = book.ask_changed
    symbol = book.symbol
    append = events.append
    tid = taker[0]
    account = taker[1]
    rem = taker[2]
    stp = False
    last = None
    while keys:
        price = -keys[-1]
        if price > limit:
            break
        level = asks[price]
        start = lq = level.qty
        while True:
            maker = level[0]
            mr = maker[2]
            if not mr:  # dead record: canceled or replaced away
                level.popleft()
                level.dead -= 1
                continue
            if maker[1] == account:
                stp = True
                break
            if mr <= rem:
                level.popleft()
                maker[2] = 0
                mid = maker[0]
                del index[mid & 255][mid]  # engine._MASK
                rem -= mr
                lq -= mr
                append((FILL, symbol, price, mr, tid, maker[0], account, maker[1], BUY, rem, 0))
                if not rem or not lq:
                    break
            else:
                mr -= rem
                maker[2] = mr
                lq -= rem
                append((FILL, symbol, price, rem, tid, maker[0], account, maker[1], BUY, 0, mr))
                rem = 0
                break
        if lq != start:
            last = price
            changed[price] = None
            if lq:
                level.qty = lq
            else:
                del asks[price]
                keys.pop()
        if stp or not rem:
            break
    taker[2] = rem
    if last is not None:
        book.last = last
    return stp


def sweep_sell(book: Book, taker: list, limit: float, index: list, events: list) -> bool:
    """Mirror of `sweep_buy`: fill a sell taker against bids priced >= limit."""
    bids = book.bids
    px = book.bid_px
    changed = book.bid_changed
    symbol = book.symbol
    append = events.append
    tid = taker[0]
    account = taker[1]
    rem = taker[2]
    stp = False
    last = None
    while px:
        price = px[-1]
        if price < limit:
            break
        level = bids[price]
        start = lq = level.qty
        while True:
            maker = level[0]
            mr = maker[2]
            if not mr:
                level.popleft()
                level.dead -= 1
                continue
            if maker[1] == account:
                stp = True
                break
            if mr <= rem:
                level.popleft()
                maker[2] = 0
                mid = maker[0]
                del index[mid & 255][mid]  # engine._MASK
                rem -= mr
                lq -= mr
                append((FILL, symbol, price, mr, tid, maker[0], account, maker[1], SELL, rem, 0))
                if not rem or not lq:
                    break
            else:
                mr -= rem
                maker[2] = mr
                lq -= rem
                append((FILL, symbol, price, rem, tid, maker[0], account, maker[1], SELL, 0, mr))
                rem = 0
                break
        if lq != start:
            last = price
            changed[price] = None
            if lq:
                level.qty = lq
            else:
                del bids[price]
                px.pop()
        if stp or not rem:
            break
    taker[2] = rem
    if last is not None:
        book.last = last
    return stp


def fok_fillable(book: Book, side: int, account: int, limit: float, need: int) -> bool:
    """True if ``need`` can be filled within ``limit`` before meeting the account's own order.

    Fill-or-kill checks first and executes second, so a failed fok leaves no trace in the book.
    Liquidity behind the first same-account order does not count: self-trade prevention would
    stop the sweep there.
    """
    if side == BUY:
        levels = book.asks
        for key in reversed(book.ask_keys):
            if -key > limit:
                return False
            for maker in levels[-key]:
                mr = maker[2]
                if mr:
                    if maker[1] == account:
                        return False
                    need -= mr
                    if need <= 0:
                        return True
    else:
        levels = book.bids
        for price in reversed(book.bid_px):
            if price < limit:
                return False
            for maker in levels[price]:
                mr = maker[2]
                if mr:
                    if maker[1] == account:
                        return False
                    need -= mr
                    if need <= 0:
                        return True
    return False
