"""One instrument's limit order book: price levels, sorted best prices, stop book, level changes.

Layout, chosen for the matcher's hot loop:

* ``bids`` / ``asks``: dict price -> `Level`, a ``deque`` of order records in arrival order
  (FIFO = time priority) that also carries the level's total open quantity. Appending and
  popping from the left are C calls; cancel is O(1) by marking the record dead (REMAINING = 0)
  and subtracting from ``Level.qty``; dead records are dropped when the matcher reaches them or
  the level empties, and a level that accumulates many is compacted.
* ``bid_px``: the bid prices, ascending, so the best bid is ``bid_px[-1]``. ``ask_keys``: the ask
  prices *negated*, ascending, so the best ask is ``-ask_keys[-1]``. Keeping the best at the end
  makes consuming a level ``list.pop()`` (O(1)) and adding one ``bisect.insort`` (C memmove).
* ``bid_changed`` / ``ask_changed``: prices whose level size changed since the last drain, as
  dict keys (an ordered set: first-change order; ``d[p] = None`` is also a cheaper bytecode than
  ``set.add``). The worker publishes absolute sizes once per batch, so only prices are recorded.
* ``buy_stops`` / ``sell_stops``: see `matching.stops`.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

from matching.codes import BUY, SELL
from matching.order import PRICE, REMAINING, SIDE

# A level is compacted when it holds more than this many dead records and they outnumber the
# live ones: a bound on memory for levels that see many cancels but never empty.
COMPACT_MIN_DEAD = 32


class Level(deque):
    """A FIFO of order records at one price, with the level's open quantity and dead count."""

    __slots__ = ("qty", "dead")

    def compact(self) -> None:
        """Drop dead records (REMAINING == 0) while keeping the live ones' order."""
        live = [rec for rec in self if rec[REMAINING]]
        self.clear()
        self.extend(live)
        self.dead = 0


class Book:
    """All resting and waiting orders of one symbol, plus its last trade price."""

    __slots__ = (
        "symbol",
        "bids",
        "asks",
        "bid_px",
        "ask_keys",
        "bid_changed",
        "ask_changed",
        "last",
        "buy_stops",
        "sell_stops",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self.bid_px: list[int] = []
        self.ask_keys: list[int] = []
        self.bid_changed: dict[int, None] = {}
        self.ask_changed: dict[int, None] = {}
        self.last: int | None = None
        self.buy_stops: list[tuple] = []
        self.sell_stops: list[tuple] = []

    # -- queries -----------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return self.bid_px[-1] if self.bid_px else None

    def best_ask(self) -> int | None:
        return -self.ask_keys[-1] if self.ask_keys else None

    def depth(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Best ``n`` levels per side as (price, total qty), best first."""
        bids = self.bids
        asks = self.asks
        bid_out = [(p, bids[p].qty) for p in self.bid_px[: -n - 1 : -1]] if n > 0 else []
        ask_out = [(-k, asks[-k].qty) for k in self.ask_keys[: -n - 1 : -1]] if n > 0 else []
        return bid_out, ask_out

    # -- mutations used outside the hot paths ------------------------------------------------

    def add_bid_price(self, price: int) -> None:
        """Register a new bid level's price (the level itself is already in ``bids``)."""
        insort(self.bid_px, price)

    def add_ask_price(self, price: int) -> None:
        """Register a new ask level's price (the level itself is already in ``asks``)."""
        insort(self.ask_keys, -price)

    def drop_bid_level(self, price: int) -> None:
        """Forget an empty bid level (with any dead records still in it)."""
        del self.bids[price]
        px = self.bid_px
        if px[-1] == price:
            px.pop()
        else:
            del px[bisect_left(px, price)]

    def drop_ask_level(self, price: int) -> None:
        """Forget an empty ask level (with any dead records still in it)."""
        del self.asks[price]
        keys = self.ask_keys
        if keys[-1] == -price:
            keys.pop()
        else:
            del keys[bisect_left(keys, -price)]

    def rest(self, rec: list) -> None:
        """Append a record to the back of its price level (creating the level if needed)."""
        price = rec[PRICE]
        qty = rec[REMAINING]
        if rec[SIDE] == BUY:
            level = self.bids.get(price)
            if level is None:
                level = self.bids[price] = Level()
                level.qty = 0
                level.dead = 0
                insort(self.bid_px, price)
            self.bid_changed[price] = None
        else:
            level = self.asks.get(price)
            if level is None:
                level = self.asks[price] = Level()
                level.qty = 0
                level.dead = 0
                insort(self.ask_keys, -price)
            self.ask_changed[price] = None
        level.append(rec)
        level.qty += qty

    def unlink(self, rec: list) -> int:
        """Take a resting record out of its level (lazily) and return the quantity it had open."""
        rem = rec[REMAINING]
        rec[REMAINING] = 0
        price = rec[PRICE]
        if rec[SIDE] == BUY:
            self.bid_changed[price] = None
            level = self.bids[price]
            level.qty -= rem
            if not level.qty:
                self.drop_bid_level(price)
                return rem
        else:
            self.ask_changed[price] = None
            level = self.asks[price]
            level.qty -= rem
            if not level.qty:
                self.drop_ask_level(price)
                return rem
        level.dead += 1
        if level.dead > COMPACT_MIN_DEAD and level.dead * 2 > len(level):
            level.compact()
        return rem

    def drain_changes(self, out: list) -> None:
        """Append (symbol, side, price, absolute size) for each changed level and forget them.

        Order: bids then asks, each in the order the levels first changed since the last drain.
        """
        symbol = self.symbol
        changed = self.bid_changed
        if changed:
            get = self.bids.get
            out += [
                (symbol, BUY, p, level.qty if (level := get(p)) is not None else 0) for p in changed
            ]
            changed.clear()
        changed = self.ask_changed
        if changed:
            get = self.asks.get
            out += [
                (symbol, SELL, p, level.qty if (level := get(p)) is not None else 0)
                for p in changed
            ]
            changed.clear()

    def live_records(self):
        """Yield resting records (best price first per side, then FIFO), then waiting stops."""
        for price in reversed(self.bid_px):
            yield from (rec for rec in self.bids[price] if rec[REMAINING])
        for key in reversed(self.ask_keys):
            yield from (rec for rec in self.asks[-key] if rec[REMAINING])
        for entry in self.buy_stops:
            yield entry[-1]
        for entry in self.sell_stops:
            yield entry[-1]
