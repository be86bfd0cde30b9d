"""The matching engine: every book of one shard, driven by a stream of messages.

`Engine.process` is the engine: it takes a batch of message tuples and returns the batch's
events, and `submit` / `cancel` / `replace` / `expire_day_orders` are one-message wrappers around
it, so there is exactly one implementation of each rule. A batch entry point is what a worker
that pulls orders in batches needs, and it is also what makes CPython fast here: one Python call
per batch instead of per message, the engine's dicts bound to locals once, and the two paths most
messages take - resting a limit order that does not cross, canceling a resting order - inlined in
the loop. Everything else (takers, stops, replaces, rejects) goes through the helper methods and
`matching.matcher`.

The engine is a pure function of its input sequence: no clock, no randomness, and every container
it iterates is insertion-ordered or sorted, so the same messages always produce the same events.
Input errors never raise: they come back as REJECTED events and change nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from math import inf
from typing import Any

from matching.book import COMPACT_MIN_DEAD, Book, Level
from matching.codes import (
    BUY,
    CANCEL,
    DAY,
    EXPIRE,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    PARTIALLY_FILLED,
    PENDING_TRIGGER,
    REPLACE,
    SELL,
    STOP,
    STOP_LIMIT,
    SUBMIT,
)
from matching.events import (
    ACCEPTED,
    CANCELED,
    EXPIRED,
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_SIDE,
    R_BAD_STOP,
    R_BAD_TIF,
    R_BAD_TYPE,
    R_CANNOT_REST,
    R_CROSSES_BOOK,
    R_DUPLICATE_ID,
    R_FOK,
    R_IOC,
    R_MALFORMED,
    R_NO_LIQUIDITY,
    R_NOTHING_TO_REPLACE,
    R_PRICE_NOT_ALLOWED,
    R_QTY_NOT_ABOVE_FILLED,
    R_STOP_NOT_ALLOWED,
    R_STP,
    R_UNKNOWN_ORDER,
    R_UNKNOWN_SYMBOL,
    R_USER,
    REJECTED,
    REPLACED,
    TRIGGERED,
)
from matching.matcher import fok_fillable, sweep_buy, sweep_sell
from matching.order import (
    ACCOUNT,
    BOOK,
    ID,
    PRICE,
    QTY,
    REMAINING,
    RESTING,
    SIDE,
    STATE,
    TIF,
    TYPE,
    WAITING,
    new_order,
)
from matching.order import STOP as STOP_PRICE
from matching.stops import add_stop, pop_triggered, remove_stop

_TIFS = (GTC, DAY, IOC, FOK)  # tuples, not sets: membership must not need hashable input
_RESTING_TIFS = (GTC, DAY)
_FAST_TIFS = (GTC, DAY, IOC)  # the tifs of limit orders that process() handles inline
# Live orders are indexed by id in _SHARDS dicts picked by the id's low bits, not in one dict:
# a dict with deletions rebuilds itself every so many inserts, in time proportional to its size
# (~6 ms for 60,000 entries here), and 256 small dicts make that pause 256 times shorter. The hot
# paths write the mask as the literal 255.
_SHARDS = 256
_MASK = _SHARDS - 1


class Engine:
    """All order books of one shard. See docs/matching.md for the full contract."""

    __slots__ = ("_books", "_index", "_stops", "_seq", "_pending")

    def __init__(self) -> None:
        self._books: dict[str, Book] = {}
        # Every live order (resting in a level or waiting in a stop book) by id, sharded (see
        # _SHARDS). Finished orders leave: memory follows the books, not the session's length.
        self._index: list[dict[int, list]] = [{} for _ in range(_SHARDS)]
        self._stops: dict[Any, tuple] = {}  # order id -> stop-book entry, for waiting stops
        self._seq = 0  # arrival numbers of stops (their tie-break when triggering together)
        self._pending: deque[list] = deque()  # triggered stops not yet executed

    def add_book(self, symbol: str) -> None:
        """Open an empty book for ``symbol``; ValueError if it already exists."""
        if symbol in self._books:
            raise ValueError(f"book {symbol!r} already exists")
        self._books[symbol] = Book(symbol)

    # ---------------------------------------------------------------------------- messages

    def process(self, messages: Iterable[tuple]) -> list[tuple]:
        """Apply a batch of messages in order and return all their events, in order.

        Messages (``codes`` constants first; every field present):
            (SUBMIT, order_id, account_id, symbol, side, order_type, tif, qty, price, stop_price)
            (CANCEL, order_id)
            (REPLACE, order_id, qty, price)        qty / price None = unchanged
            (EXPIRE, symbol)                       symbol None = every book
        A malformed message gives a REJECTED event; nothing in here raises on bad input.
        """
        events: list[tuple] = []
        append = events.append
        books = self._books
        index = self._index
        for msg in messages:
            try:
                kind = msg[0]
                if kind == SUBMIT:
                    _, order_id, account_id, symbol, side, order_type, tif, qty, price, stop = msg
                    if (
                        order_type == LIMIT
                        and type(price) is int
                        and type(qty) is int
                        and price > 0
                        and qty > 0
                        and tif in _FAST_TIFS
                        and stop is None
                        and (book := books.get(symbol)) is not None
                    ):
                        # Fast path: a valid gtc/day/ioc limit order. It rests right here if it
                        # does not cross, else sweeps and its remainder rests or is canceled.
                        # Record layout: see matching.order (ID .. STATE).
                        if side == BUY:
                            rec = [
                                order_id,
                                account_id,
                                qty,
                                price,
                                BUY,
                                qty,
                                tif,
                                LIMIT,
                                None,
                                book,
                                RESTING,
                            ]
                            shard = index[order_id & 255]  # _MASK
                            if shard.setdefault(order_id, rec) is not rec:
                                append((REJECTED, order_id, R_DUPLICATE_ID))
                                continue
                            append((ACCEPTED, order_id, symbol))
                            keys = book.ask_keys
                            if not keys or -keys[-1] > price:
                                if tif == IOC:
                                    rec[2] = 0
                                    del shard[order_id]
                                    append((CANCELED, order_id, qty, R_IOC))
                                    continue
                                levels = book.bids
                                level = levels.get(price)
                                if level is None:
                                    level = levels[price] = Level((rec,))
                                    level.qty = qty
                                    level.dead = 0
                                    book.add_bid_price(price)
                                else:
                                    level.append(rec)
                                    level.qty += qty
                                book.bid_changed[price] = None
                                continue
                            first = -keys[-1]
                            stp = sweep_buy(book, rec, price, index, events)
                        elif side == SELL:
                            rec = [
                                order_id,
                                account_id,
                                qty,
                                price,
                                SELL,
                                qty,
                                tif,
                                LIMIT,
                                None,
                                book,
                                RESTING,
                            ]
                            shard = index[order_id & 255]  # _MASK
                            if shard.setdefault(order_id, rec) is not rec:
                                append((REJECTED, order_id, R_DUPLICATE_ID))
                                continue
                            append((ACCEPTED, order_id, symbol))
                            px = book.bid_px
                            if not px or px[-1] < price:
                                if tif == IOC:
                                    rec[2] = 0
                                    del shard[order_id]
                                    append((CANCELED, order_id, qty, R_IOC))
                                    continue
                                levels = book.asks
                                level = levels.get(price)
                                if level is None:
                                    level = levels[price] = Level((rec,))
                                    level.qty = qty
                                    level.dead = 0
                                    book.add_ask_price(price)
                                else:
                                    level.append(rec)
                                    level.qty += qty
                                book.ask_changed[price] = None
                                continue
                            first = px[-1]
                            stp = sweep_sell(book, rec, price, index, events)
                        else:  # an invalid side: the full validation reports it (after dup)
                            self._submit(
                                order_id,
                                account_id,
                                symbol,
                                side,
                                order_type,
                                tif,
                                qty,
                                price,
                                stop,
                                events,
                            )
                            continue
                        # The order crossed: settle its remainder, then any stops it triggered.
                        rem = rec[2]
                        if not rem:
                            del shard[order_id]
                        elif stp or tif == IOC:
                            rec[2] = 0
                            del shard[order_id]
                            append((CANCELED, order_id, rem, R_STP if stp else R_IOC))
                        else:
                            book.rest(rec)
                        if rem != qty and (book.buy_stops or book.sell_stops):
                            self._pending.extend(pop_triggered(book, first, book.last))
                            self._run_pending(events)
                        continue
                    self._submit(
                        order_id,
                        account_id,
                        symbol,
                        side,
                        order_type,
                        tif,
                        qty,
                        price,
                        stop,
                        events,
                    )
                elif kind == CANCEL:
                    order_id = msg[1]
                    rec = index[order_id & 255].pop(order_id, None)  # _MASK
                    if rec is None or rec[10] != RESTING:
                        self._cancel_other(order_id, rec, events)
                        continue
                    # Inline of Book.unlink: mark dead, shrink (or drop) the level.
                    rem = rec[2]
                    rec[2] = 0
                    book = rec[9]
                    price = rec[3]
                    if rec[4] == BUY:
                        book.bid_changed[price] = None
                        level = book.bids[price]
                        level.qty -= rem
                        if not level.qty:
                            book.drop_bid_level(price)
                            append((CANCELED, order_id, rem, R_USER))
                            continue
                    else:
                        book.ask_changed[price] = None
                        level = book.asks[price]
                        level.qty -= rem
                        if not level.qty:
                            book.drop_ask_level(price)
                            append((CANCELED, order_id, rem, R_USER))
                            continue
                    level.dead += 1
                    if level.dead > COMPACT_MIN_DEAD and level.dead * 2 > len(level):
                        level.compact()
                    append((CANCELED, order_id, rem, R_USER))
                elif kind == REPLACE and len(msg) == 4:
                    self._replace(msg[1], msg[2], msg[3], events)
                elif kind == EXPIRE and len(msg) == 2:
                    self._expire(msg[1], events)
                else:
                    append(_malformed(msg))
            except (TypeError, ValueError, IndexError):
                # Only input that cannot be a message lands here (wrong length, unhashable id or
                # symbol), and before any state changed; anything else is an engine bug: raise.
                if _well_formed(msg):
                    raise
                append(_malformed(msg))
        return events

    def submit(
        self,
        order_id: Any,
        account_id: int,
        symbol: str,
        side: int,
        order_type: int,
        tif: int,
        qty: int,
        price: int | None = None,
        stop_price: int | None = None,
    ) -> list[tuple]:
        """Validate, accept and process one new order; return its events (never raises on input).

        ``price`` is the limit price in ticks (limit, stop_limit); ``stop_price`` the trigger in
        ticks (stop, stop_limit). Events: REJECTED, or ACCEPTED followed by FILLs, CANCELED for a
        remainder that may not rest, and TRIGGERED + the events of any stops it sets off.
        """
        msg = (SUBMIT, order_id, account_id, symbol, side, order_type, tif, qty, price, stop_price)
        return self.process((msg,))

    def cancel(self, order_id: Any) -> list[tuple]:
        """Cancel a live order (resting or waiting stop): CANCELED, or REJECTED if not live."""
        return self.process(((CANCEL, order_id),))

    def replace(
        self, order_id: Any, qty: int | None = None, price: int | None = None
    ) -> list[tuple]:
        """Change a live order's total quantity and/or limit price.

        ``qty`` is the new TOTAL quantity and must exceed what has already filled. Reducing the
        quantity at the same price keeps time priority; a new price or a larger quantity sends the
        order to the back of its (new) level, and a new price that crosses matches at once.
        Events: REJECTED, or REPLACED followed by any FILLs / CANCELED the new price causes.
        """
        return self.process(((REPLACE, order_id, qty, price),))

    def expire_day_orders(self, symbol: str | None = None) -> list[tuple]:
        """Session end: remove every live day order (of ``symbol``, or all books) -> EXPIRED.

        An unknown symbol has no day orders: no events.
        """
        return self.process(((EXPIRE, symbol),))

    # ---------------------------------------------------------------------------- recovery

    def restore_order(
        self,
        order_id: Any,
        account_id: int,
        symbol: str,
        side: int,
        order_type: int,
        tif: int,
        qty: int,
        price: int | None = None,
        stop_price: int | None = None,
        filled: int = 0,
        triggered: bool = False,
    ) -> list[tuple]:
        """Put an already-accepted live order back WITHOUT matching; [] on success.

        For recovery after a restart: call it in the orders' original sequence order and each
        order lands at the back of its level, so time priority is what it was. An untriggered
        stop goes back to the stop book; a triggered stop_limit rests as a limit order. Returns a
        REJECTED event (and changes nothing) if the order could not be live: bad fields, an
        ioc/fok or market order outside the stop book, or a price that would cross the book.
        """
        book = self._books.get(symbol)
        if book is None:
            return [(REJECTED, order_id, R_UNKNOWN_SYMBOL)]
        if type(order_id) is not int:
            return [(REJECTED, order_id, R_MALFORMED)]
        if self._get(order_id) is not None:
            return [(REJECTED, order_id, R_DUPLICATE_ID)]
        if type(qty) is not int or qty <= 0:
            return [(REJECTED, order_id, R_BAD_QTY)]
        if type(filled) is not int or not 0 <= filled < qty:
            return [(REJECTED, order_id, R_QTY_NOT_ABOVE_FILLED)]
        reason = _validate(side, order_type, tif, price, stop_price)
        if reason is not None:
            return [(REJECTED, order_id, reason)]
        waiting = order_type in (STOP, STOP_LIMIT) and not triggered
        if not waiting:
            if order_type in (STOP, MARKET):
                return [(REJECTED, order_id, R_CANNOT_REST)]
            if tif not in _RESTING_TIFS:
                return [(REJECTED, order_id, R_BAD_TIF)]
            best = book.best_ask() if side == BUY else book.best_bid()
            if best is not None and (price >= best if side == BUY else price <= best):
                return [(REJECTED, order_id, R_CROSSES_BOOK)]
        rec = new_order(
            order_id,
            account_id,
            qty - filled,
            price,
            side,
            qty,
            tif,
            order_type,
            stop_price,
            book,
            WAITING if waiting else RESTING,
        )
        if waiting:
            self._seq += 1
            self._stops[order_id] = add_stop(book, rec, self._seq)
        else:
            book.rest(rec)
        self._index[order_id & _MASK][order_id] = rec
        return []

    def set_last_price(self, symbol: str, ticks: int | None) -> None:
        """Restore the last trade price (recovery); it triggers nothing until the next trade."""
        if ticks is not None and (type(ticks) is not int or ticks <= 0):
            raise ValueError(f"last price must be a positive int of ticks, got {ticks!r}")
        self._books[symbol].last = ticks

    # ---------------------------------------------------------------------------- queries

    def drain_level_changes(self) -> list[tuple[str, int, int, int]]:
        """(symbol, side, price, absolute size) per level changed since the last drain.

        Size 0 means the level is gone. A level that changed and came back to its old size is
        still reported (harmless for absolute-size consumers). Ordered by book (as added), bids
        best-first, then asks best-first.
        """
        out: list[tuple[str, int, int, int]] = []
        for book in self._books.values():
            if book.bid_changed or book.ask_changed:
                book.drain_changes(out)
        return out

    def depth(
        self, symbol: str, n: int = 10
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks): the best ``n`` levels per side as (price_ticks, total_qty), best first."""
        return self._books[symbol].depth(n)

    def best_bid(self, symbol: str) -> int | None:
        return self._books[symbol].best_bid()

    def best_ask(self, symbol: str) -> int | None:
        return self._books[symbol].best_ask()

    def last_price(self, symbol: str) -> int | None:
        return self._books[symbol].last

    def symbols(self) -> list[str]:
        return list(self._books)

    def status(self, order_id: Any) -> int | None:
        """NEW, PARTIALLY_FILLED or PENDING_TRIGGER (codes) for a live order; None otherwise."""
        rec = self._get(order_id)
        if rec is None:
            return None
        if rec[STATE] == WAITING:
            return PENDING_TRIGGER
        return PARTIALLY_FILLED if rec[REMAINING] < rec[QTY] else NEW

    def open_order(self, order_id: Any) -> dict[str, Any] | None:
        """A live order's fields (ints as in `matching.codes`), or None if it is not live."""
        rec = self._get(order_id)
        if rec is None:
            return None
        return {
            "order_id": rec[ID],
            "account_id": rec[ACCOUNT],
            "symbol": rec[BOOK].symbol,
            "side": rec[SIDE],
            "order_type": rec[TYPE],
            "tif": rec[TIF],
            "qty": rec[QTY],
            "filled": rec[QTY] - rec[REMAINING],
            "remaining": rec[REMAINING],
            "price": rec[PRICE],
            "stop_price": rec[STOP_PRICE],
            "status": self.status(order_id),
        }

    def open_order_ids(self, symbol: str | None = None) -> list[int]:
        """Ids of live orders in book order (see `_live_records`), of all books or one.

        Restoring orders in this order (`restore_order`) rebuilds the same books.
        """
        return [rec[ID] for rec in self._live_records(symbol)]

    def __len__(self) -> int:
        """Number of live orders across all books (resting and waiting stops)."""
        return sum(map(len, self._index))

    # ---------------------------------------------------------------------------- internals

    def _submit(
        self,
        order_id: Any,
        account_id: int,
        symbol: str,
        side: int,
        order_type: int,
        tif: int,
        qty: int,
        price: Any,
        stop_price: Any,
        events: list,
    ) -> None:
        """Every submit the hot path does not finish: full validation, takers, stops."""
        if type(order_id) is not int:
            events.append((REJECTED, order_id, R_MALFORMED))
            return
        book = self._books.get(symbol)
        if book is None:
            events.append((REJECTED, order_id, R_UNKNOWN_SYMBOL))
            return
        if self._get(order_id) is not None:
            events.append((REJECTED, order_id, R_DUPLICATE_ID))
            return
        if type(qty) is not int or qty <= 0:
            events.append((REJECTED, order_id, R_BAD_QTY))
            return
        reason = _validate(side, order_type, tif, price, stop_price)
        if reason is not None:
            events.append((REJECTED, order_id, reason))
            return
        events.append((ACCEPTED, order_id, symbol))
        waiting = order_type in (STOP, STOP_LIMIT)
        rec = [order_id, account_id, qty, price, side, qty, tif, order_type, stop_price, book]
        rec.append(WAITING if waiting else RESTING)
        if waiting:
            last = book.last
            if last is None or (stop_price > last if side == BUY else stop_price < last):
                self._seq += 1
                self._stops[order_id] = add_stop(book, rec, self._seq)
                self._index[order_id & _MASK][order_id] = rec
                return
            rec[STATE] = RESTING
            events.append((TRIGGERED, order_id, symbol, stop_price, last))
        self._execute(book, rec, events)
        if self._pending:
            self._run_pending(events)

    def _cancel_other(self, order_id: Any, rec: list | None, events: list) -> None:
        """Cancel of an unknown order (reject) or of a waiting stop."""
        if rec is None:
            events.append((REJECTED, order_id, R_UNKNOWN_ORDER))
            return
        rem = rec[REMAINING]
        rec[REMAINING] = 0
        remove_stop(rec[BOOK], self._stops.pop(order_id))
        events.append((CANCELED, order_id, rem, R_USER))

    def _replace(self, order_id: Any, qty: Any, price: Any, events: list) -> None:
        rec = self._get(order_id)
        if rec is None:
            events.append((REJECTED, order_id, R_UNKNOWN_ORDER))
            return
        if qty is None and price is None:
            events.append((REJECTED, order_id, R_NOTHING_TO_REPLACE))
            return
        old_qty = rec[QTY]
        old_price = rec[PRICE]
        filled = old_qty - rec[REMAINING]
        new_qty = old_qty if qty is None else qty
        if type(new_qty) is not int:
            events.append((REJECTED, order_id, R_BAD_QTY))
            return
        if new_qty <= filled:
            events.append((REJECTED, order_id, R_QTY_NOT_ABOVE_FILLED))
            return
        if price is not None:
            if old_price is None:  # market or market-on-trigger stop: no limit price to change
                events.append((REJECTED, order_id, R_PRICE_NOT_ALLOWED))
                return
            if type(price) is not int or price <= 0:
                events.append((REJECTED, order_id, R_BAD_PRICE))
                return
        new_price = old_price if price is None else price
        new_rem = new_qty - filled
        book = rec[BOOK]
        keep = new_price == old_price and new_qty <= old_qty
        events.append((REPLACED, order_id, new_qty, new_price, new_rem, keep))

        if rec[STATE] == WAITING:
            rec[QTY] = new_qty
            rec[REMAINING] = new_rem
            if not keep:  # re-file as a new arrival: it lost its place among equal stops
                remove_stop(book, self._stops[order_id])
                rec[PRICE] = new_price
                self._seq += 1
                self._stops[order_id] = add_stop(book, rec, self._seq)
            return

        if keep:
            delta = rec[REMAINING] - new_rem
            rec[QTY] = new_qty
            rec[REMAINING] = new_rem
            if delta:
                if rec[SIDE] == BUY:
                    book.bids[old_price].qty -= delta
                    book.bid_changed[old_price] = None
                else:
                    book.asks[old_price].qty -= delta
                    book.ask_changed[old_price] = None
            return

        # Losing priority: the old record goes dead in its level and a fresh one takes over.
        del self._index[order_id & _MASK][order_id]
        book.unlink(rec)
        fresh = rec.copy()
        fresh[QTY] = new_qty
        fresh[REMAINING] = new_rem
        fresh[PRICE] = new_price
        self._execute(book, fresh, events)
        if self._pending:
            self._run_pending(events)

    def _expire(self, symbol: Any, events: list) -> None:
        if symbol is not None and symbol not in self._books:
            return
        index = self._index
        for rec in [rec for rec in self._live_records(symbol) if rec[TIF] == DAY]:
            order_id = rec[ID]
            del index[order_id & _MASK][order_id]
            events.append((EXPIRED, order_id, self._remove(rec)))

    def _get(self, order_id: Any) -> list | None:
        """The live record of ``order_id``, or None (also for ids that are not ints)."""
        if type(order_id) is not int:
            return None
        return self._index[order_id & _MASK].get(order_id)

    def _live_records(self, symbol: str | None) -> list[list]:
        """Live records in book order: books as added; in each, bids best price first, FIFO
        within a price, then asks likewise, then waiting stops in trigger order."""
        books = self._books.values() if symbol is None else (self._books[symbol],)
        return [rec for book in books for rec in book.live_records()]

    def _execute(self, book: Book, rec: list, events: list) -> None:
        """Match a taker record, then rest or cancel its remainder, then collect stop triggers."""
        side = rec[SIDE]
        price = rec[PRICE]
        tif = rec[TIF]
        before = rec[REMAINING]
        index = self._index
        if side == BUY:
            limit = inf if price is None else price
            if tif == FOK and not fok_fillable(book, BUY, rec[ACCOUNT], limit, before):
                events.append((CANCELED, rec[ID], before, R_FOK))
                return
            keys = book.ask_keys
            first = -keys[-1] if keys else 0  # the first trade's price, if there is one
            stp = sweep_buy(book, rec, limit, index, events)
        else:
            limit = 0 if price is None else price
            if tif == FOK and not fok_fillable(book, SELL, rec[ACCOUNT], limit, before):
                events.append((CANCELED, rec[ID], before, R_FOK))
                return
            px = book.bid_px
            first = px[-1] if px else 0
            stp = sweep_sell(book, rec, limit, index, events)
        rem = rec[REMAINING]
        if rem:
            if stp:
                reason = R_STP
            elif price is None:
                reason = R_NO_LIQUIDITY
            elif tif == IOC:
                reason = R_IOC
            elif tif == FOK:  # unreachable: a fok that passed its check fills completely
                reason = R_FOK
            else:
                book.rest(rec)
                index[rec[ID] & _MASK][rec[ID]] = rec
                reason = None
            if reason is not None:
                rec[REMAINING] = 0
                events.append((CANCELED, rec[ID], rem, reason))
        if rem != before and (book.buy_stops or book.sell_stops):
            self._pending.extend(pop_triggered(book, first, book.last))

    def _run_pending(self, events: list) -> None:
        """Execute triggered stops one by one; each may trigger more (a cascade), queued FIFO."""
        pending = self._pending
        index = self._index
        stops = self._stops
        while pending:
            rec = pending.popleft()
            order_id = rec[ID]
            del index[order_id & _MASK][order_id]
            del stops[order_id]
            rec[STATE] = RESTING
            book = rec[BOOK]
            events.append((TRIGGERED, order_id, book.symbol, rec[STOP_PRICE], book.last))
            self._execute(book, rec, events)

    def _remove(self, rec: list) -> int:
        """Take a live record (already out of ``_index``) out of its book; return its qty."""
        if rec[STATE] == WAITING:
            rem = rec[REMAINING]
            rec[REMAINING] = 0
            remove_stop(rec[BOOK], self._stops.pop(rec[ID]))
            return rem
        return rec[BOOK].unlink(rec)


def _validate(side: Any, order_type: Any, tif: Any, price: Any, stop_price: Any) -> str | None:
    """The reject reason for an order's side/type/tif/prices, or None if they are consistent."""
    if side != BUY and side != SELL:
        return R_BAD_SIDE
    if tif not in _TIFS:
        return R_BAD_TIF
    if order_type in (LIMIT, STOP_LIMIT):
        if type(price) is not int or price <= 0:
            return R_BAD_PRICE
    elif order_type in (MARKET, STOP):
        if price is not None:
            return R_PRICE_NOT_ALLOWED
    else:
        return R_BAD_TYPE
    if order_type in (STOP, STOP_LIMIT):
        if type(stop_price) is not int or stop_price <= 0:
            return R_BAD_STOP
    elif stop_price is not None:
        return R_STOP_NOT_ALLOWED
    return None


def _well_formed(msg: Any) -> bool:
    """True if ``msg`` has a known kind, the right length and hashable id / symbol fields."""
    try:
        kind = msg[0]
        if kind == SUBMIT:
            hash(msg[3])
            return len(msg) == 10 and type(msg[1]) is int
        if kind in (CANCEL, REPLACE):
            return len(msg) == (2 if kind == CANCEL else 4) and type(msg[1]) is int
        if kind == EXPIRE:
            hash(msg[1])
            return len(msg) == 2
    except (TypeError, ValueError, IndexError):
        return False
    return False


def _malformed(msg: Any) -> tuple:
    """The REJECTED event for a message that is not one (its id, if it has a usable one)."""
    try:
        order_id = msg[1]
        hash(order_id)
    except (TypeError, IndexError, KeyError):
        order_id = None
    return (REJECTED, order_id, R_MALFORMED)
