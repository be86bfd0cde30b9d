"""Property tests: the engine against a slow, obviously-correct reference model.

The reference keeps every live order in one dict and, whenever it needs the best resting order,
filters and sorts them all from scratch: no levels, no lazy deletion, no incremental best price,
no batching - nothing that could share a bug with the engine. Hypothesis drives random message
sequences (every order type and tif, cancels, replaces, expiries, several accounts, bad input,
reused ids) through both and requires identical events; after every message it also checks the
engine's own invariants: the book is never crossed, depth() equals the sum of live orders,
quantity is conserved per order (qty = filled + open + canceled), nothing fills beyond its
quantity, the drained level changes rebuild depth exactly, and statuses are right.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import events as ev
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
from matching.engine import Engine

SYMBOLS = ("A", "B")

# ------------------------------------------------------------------------- reference model


@dataclass
class ROrder:
    oid: int
    account: int
    symbol: str
    side: int
    otype: int
    tif: int
    qty: int
    price: int | None
    stop: int | None
    filled: int = 0
    entered: int = 0  # when it (last) entered the book: FIFO priority
    seq: int = 0  # stop arrival number
    waiting: bool = False  # an untriggered stop

    @property
    def remaining(self) -> int:
        return self.qty - self.filled


class Reference:
    """Price-time matching the slow way: sort everything, every time."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols = set(symbols)
        self.live: dict[int, ROrder] = {}
        self.last: dict[str, int | None] = dict.fromkeys(symbols)
        self.clock = 0
        self.seq = 0
        self.pending: list[ROrder] = []
        self.armed: set[int] = set()  # triggered, waiting for their turn to execute

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    # -- the book, recomputed on demand

    def makers(self, taker: ROrder) -> list[ROrder]:
        """Resting orders the taker may trade with, best first (price, then time)."""
        out = []
        for o in self.live.values():
            if o.symbol != taker.symbol or o.side == taker.side or o.waiting:
                continue
            if taker.price is not None:
                if taker.side == BUY and o.price > taker.price:
                    continue
                if taker.side == SELL and o.price < taker.price:
                    continue
            out.append(o)
        if taker.side == BUY:
            return sorted(out, key=lambda o: (o.price, o.entered))
        return sorted(out, key=lambda o: (-o.price, o.entered))

    def depth(self, symbol: str) -> tuple[list, list]:
        levels = {BUY: defaultdict(int), SELL: defaultdict(int)}
        for o in self.live.values():
            if o.symbol == symbol and not o.waiting:
                levels[o.side][o.price] += o.remaining
        bids = sorted(levels[BUY].items(), reverse=True)
        asks = sorted(levels[SELL].items())
        return bids, asks

    # -- messages

    def submit(self, oid, account, symbol, side, otype, tif, qty, price=None, stop=None):
        if symbol not in self.symbols:
            return [(ev.REJECTED, oid, ev.R_UNKNOWN_SYMBOL)]
        if oid in self.live:
            return [(ev.REJECTED, oid, ev.R_DUPLICATE_ID)]
        if type(qty) is not int or qty <= 0:
            return [(ev.REJECTED, oid, ev.R_BAD_QTY)]
        if side not in (BUY, SELL):
            return [(ev.REJECTED, oid, ev.R_BAD_SIDE)]
        if tif not in (GTC, DAY, IOC, FOK):
            return [(ev.REJECTED, oid, ev.R_BAD_TIF)]
        if otype in (LIMIT, STOP_LIMIT):
            if type(price) is not int or price <= 0:
                return [(ev.REJECTED, oid, ev.R_BAD_PRICE)]
        elif otype in (MARKET, STOP):
            if price is not None:
                return [(ev.REJECTED, oid, ev.R_PRICE_NOT_ALLOWED)]
        else:
            return [(ev.REJECTED, oid, ev.R_BAD_TYPE)]
        if otype in (STOP, STOP_LIMIT):
            if type(stop) is not int or stop <= 0:
                return [(ev.REJECTED, oid, ev.R_BAD_STOP)]
        elif stop is not None:
            return [(ev.REJECTED, oid, ev.R_STOP_NOT_ALLOWED)]

        events = [(ev.ACCEPTED, oid, symbol)]
        o = ROrder(oid, account, symbol, side, otype, tif, qty, price, stop)
        if otype in (STOP, STOP_LIMIT):
            last = self.last[symbol]
            through = last is not None and (stop <= last if side == BUY else stop >= last)
            if not through:
                o.waiting = True
                self.seq += 1
                o.seq = self.seq
                o.entered = self.tick()
                self.live[oid] = o
                return events
            events.append((ev.TRIGGERED, oid, symbol, stop, last))
        self.execute(o, events)
        self.run_pending(events)
        return events

    def cancel(self, oid):
        o = self.live.pop(oid, None)
        if o is None:
            return [(ev.REJECTED, oid, ev.R_UNKNOWN_ORDER)]
        return [(ev.CANCELED, oid, o.remaining, ev.R_USER)]

    def replace(self, oid, qty=None, price=None):
        o = self.live.get(oid)
        if o is None:
            return [(ev.REJECTED, oid, ev.R_UNKNOWN_ORDER)]
        if qty is None and price is None:
            return [(ev.REJECTED, oid, ev.R_NOTHING_TO_REPLACE)]
        new_qty = o.qty if qty is None else qty
        if type(new_qty) is not int:
            return [(ev.REJECTED, oid, ev.R_BAD_QTY)]
        if new_qty <= o.filled:
            return [(ev.REJECTED, oid, ev.R_QTY_NOT_ABOVE_FILLED)]
        if price is not None:
            if o.price is None:
                return [(ev.REJECTED, oid, ev.R_PRICE_NOT_ALLOWED)]
            if type(price) is not int or price <= 0:
                return [(ev.REJECTED, oid, ev.R_BAD_PRICE)]
        new_price = o.price if price is None else price
        keep = new_price == o.price and new_qty <= o.qty
        events = [(ev.REPLACED, oid, new_qty, new_price, new_qty - o.filled, keep)]
        o.qty = new_qty
        o.price = new_price
        if keep:
            return events
        if o.waiting:
            self.seq += 1
            o.seq = self.seq
            o.entered = self.tick()
            return events
        del self.live[oid]
        self.execute(o, events)
        self.run_pending(events)
        return events

    def book_order(self, symbol=None) -> list[ROrder]:
        """Live orders as the engine lists them: by book; bids best first then by time, asks
        likewise, then waiting buy stops (lowest stop first) and sell stops (highest first)."""
        out = []
        for s in SYMBOLS if symbol is None else (symbol,):
            mine = [o for o in self.live.values() if o.symbol == s]
            rest = [o for o in mine if not o.waiting]
            wait = [o for o in mine if o.waiting]
            out += sorted((o for o in rest if o.side == BUY), key=lambda o: (-o.price, o.entered))
            out += sorted((o for o in rest if o.side == SELL), key=lambda o: (o.price, o.entered))
            out += sorted((o for o in wait if o.side == BUY), key=lambda o: (o.stop, o.seq))
            out += sorted((o for o in wait if o.side == SELL), key=lambda o: (-o.stop, o.seq))
        return out

    def expire(self, symbol=None):
        if symbol is not None and symbol not in self.symbols:
            return []
        events = []
        for o in self.book_order(symbol):
            if o.tif == DAY:
                del self.live[o.oid]
                events.append((ev.EXPIRED, o.oid, o.remaining))
        return events

    # -- matching

    def execute(self, o: ROrder, events: list) -> None:
        if o.tif == FOK:
            available = 0
            for m in self.makers(o):
                if m.account == o.account:
                    break
                available += m.remaining
            if available < o.remaining:
                events.append((ev.CANCELED, o.oid, o.remaining, ev.R_FOK))
                return
        stp = False
        while o.remaining:
            makers = self.makers(o)
            if not makers:
                break
            m = makers[0]
            if m.account == o.account:
                stp = True
                break
            q = min(o.remaining, m.remaining)
            o.filled += q
            m.filled += q
            events.append(
                (
                    ev.FILL,
                    o.symbol,
                    m.price,
                    q,
                    o.oid,
                    m.oid,
                    o.account,
                    m.account,
                    o.side,
                    o.remaining,
                    m.remaining,
                )
            )
            self.last[o.symbol] = m.price
            if not m.remaining:
                del self.live[m.oid]
            self.check_stops(o.symbol, m.price)
        if o.remaining:
            if stp:
                reason = ev.R_STP
            elif o.price is None:
                reason = ev.R_NO_LIQUIDITY
            elif o.tif == IOC:
                reason = ev.R_IOC
            elif o.tif == FOK:
                reason = ev.R_FOK
            else:
                o.waiting = False
                o.entered = self.tick()
                self.live[o.oid] = o
                return
            events.append((ev.CANCELED, o.oid, o.remaining, reason))

    def check_stops(self, symbol: str, price: int) -> None:
        """After a trade at ``price``: arm the stops it triggers, nearest first, then arrival."""
        waiting = [
            o
            for o in self.live.values()
            if o.waiting and o.symbol == symbol and o.oid not in self.armed
        ]
        buys = sorted(
            (o for o in waiting if o.side == BUY and o.stop <= price),
            key=lambda o: (o.stop, o.seq),
        )
        sells = sorted(
            (o for o in waiting if o.side == SELL and o.stop >= price),
            key=lambda o: (-o.stop, o.seq),
        )
        for o in buys + sells:
            self.armed.add(o.oid)
            self.pending.append(o)

    def run_pending(self, events: list) -> None:
        while self.pending:
            o = self.pending.pop(0)
            self.armed.discard(o.oid)
            del self.live[o.oid]
            o.waiting = False
            events.append((ev.TRIGGERED, o.oid, o.symbol, o.stop, self.last[o.symbol]))
            self.execute(o, events)


# ------------------------------------------------------------------------- message strategy

PRICES = list(range(96, 105))
# Messages are drawn with placeholders for order ids, resolved while the sequence is applied
# (`resolve`): a submit usually takes the next fresh id and now and then reuses an earlier one
# (a duplicate if that order is still live); cancels and replaces point at the k-th submitted
# order, so most of them hit live orders. Prices sit in a narrow band so orders cross often.
NEW_ID = "new"


@st.composite
def submits(draw):
    otype = draw(st.sampled_from([LIMIT] * 6 + [MARKET] * 2 + [STOP] * 2 + [STOP_LIMIT] * 2))
    side = draw(st.sampled_from([BUY, SELL]))
    tif = draw(st.sampled_from([GTC] * 4 + [DAY] * 2 + [IOC, FOK]))
    qty = draw(st.integers(1, 12))
    # buyers bid a little higher than sellers ask, so that books cross often
    band = PRICES[2:] if side == BUY else PRICES[:-2]
    price = draw(st.sampled_from(band)) if otype in (LIMIT, STOP_LIMIT) else None
    stop = draw(st.sampled_from(PRICES)) if otype in (STOP, STOP_LIMIT) else None
    account = draw(st.integers(1, 4))
    symbol = draw(st.sampled_from(["A", "A", "A", "B"]))
    oid = draw(st.sampled_from([NEW_ID] * 27 + [("old", k) for k in range(3)]))
    if draw(st.integers(0, 19)) == 0:  # now and then, something broken
        field = draw(st.sampled_from(["qty", "price", "stop", "side", "tif", "type", "symbol"]))
        junk = draw(st.sampled_from([0, -1, None, 2.5, 9, "x"]))
        if field == "qty":
            qty = junk
        elif field == "price":
            price = junk
        elif field == "stop":
            stop = junk
        elif field == "side":
            side = junk
        elif field == "tif":
            tif = junk
        elif field == "type":
            otype = junk
        else:
            symbol = "NOPE"
    return (SUBMIT, oid, account, symbol, side, otype, tif, qty, price, stop)


TARGET = st.integers(0, 1000).map(lambda k: ("old", k))

messages = st.one_of(
    submits(),
    submits(),
    submits(),
    submits(),
    st.tuples(st.just(CANCEL), TARGET),
    st.tuples(
        st.just(REPLACE),
        TARGET,
        st.one_of(st.none(), st.integers(0, 15)),
        st.one_of(st.none(), st.sampled_from([*PRICES, 0])),
    ),
    st.tuples(st.just(EXPIRE), st.sampled_from([None, "A", "B"])),
)
message_lists = st.lists(messages, min_size=10, max_size=150)


def resolve(msgs: list[tuple]) -> list[tuple]:
    """Replace the id placeholders by concrete ints (see above)."""
    out = []
    submitted: list[int] = []
    for msg in msgs:
        if msg[0] == EXPIRE:
            out.append(msg)
            continue
        ref = msg[1]
        if ref == NEW_ID:
            oid = len(submitted) + 1
        elif submitted:
            oid = submitted[-1 - ref[1] % len(submitted)]
        else:
            oid = 999_999  # nothing submitted yet: an unknown id
        if msg[0] == SUBMIT:
            submitted.append(oid)
        out.append((msg[0], oid, *msg[2:]))
    return out


def apply_ref(ref: Reference, msg: tuple) -> list:
    kind = msg[0]
    if kind == SUBMIT:
        return ref.submit(*msg[1:])
    if kind == CANCEL:
        return ref.cancel(msg[1])
    if kind == REPLACE:
        return ref.replace(msg[1], msg[2], msg[3])
    return ref.expire(msg[1])


def apply_engine(eng: Engine, msg: tuple) -> list:
    """Through the one-message API (the batch API is compared with it separately)."""
    kind = msg[0]
    if kind == SUBMIT:
        return eng.submit(*msg[1:])
    if kind == CANCEL:
        return eng.cancel(msg[1])
    if kind == REPLACE:
        return eng.replace(msg[1], qty=msg[2], price=msg[3])
    return eng.expire_day_orders(msg[1])


# ------------------------------------------------------------------------- invariants


class Ledger:
    """Per-order quantities rebuilt from the event stream alone."""

    def __init__(self) -> None:
        self.qty: dict[int, int] = {}
        self.filled: dict[int, int] = {}
        self.closed: dict[int, int] = {}  # canceled or expired quantity

    def apply(self, msg: tuple, events: list) -> None:
        for e in events:
            kind = e[0]
            if kind == ev.ACCEPTED:
                self.qty[e[1]] = msg[7]
                self.filled[e[1]] = 0
                self.closed[e[1]] = 0
            elif kind == ev.FILL:
                _, _, _, q, taker, maker, _, _, _, taker_rem, maker_rem = e
                for oid, rem in ((taker, taker_rem), (maker, maker_rem)):
                    self.filled[oid] += q
                    assert self.filled[oid] <= self.qty[oid], "filled beyond its quantity"
                    assert rem == self.qty[oid] - self.filled[oid], "wrong remaining in FILL"
            elif kind in (ev.CANCELED, ev.EXPIRED):
                self.closed[e[1]] += e[2]
            elif kind == ev.REPLACED:
                self.qty[e[1]] = e[2]
                assert e[4] == e[2] - self.filled[e[1]]

    def check(self, eng: Engine) -> None:
        for oid, qty in self.qty.items():
            info = eng.open_order(oid)
            open_qty = info["remaining"] if info is not None else 0
            assert qty == self.filled[oid] + open_qty + self.closed[oid], f"order {oid} leaks"
            assert 0 <= self.filled[oid] <= qty
            if info is not None:
                assert info["filled"] == self.filled[oid]


def check_engine(eng: Engine, ref: Reference, ledger: Ledger, shadow: dict) -> None:
    for symbol, side, price, size in eng.drain_level_changes():
        if size:
            shadow[(symbol, side, price)] = size
        else:
            shadow.pop((symbol, side, price), None)
    assert len(eng) == len(ref.live)
    for symbol in SYMBOLS:
        bids, asks = eng.depth(symbol, 1000)
        assert (bids, asks) == ref.depth(symbol)
        if bids and asks:
            assert bids[0][0] < asks[0][0], "crossed book"
        assert eng.best_bid(symbol) == (bids[0][0] if bids else None)
        assert eng.best_ask(symbol) == (asks[0][0] if asks else None)
        assert eng.last_price(symbol) == ref.last[symbol]
        # depth() agrees with the live orders the engine reports
        summed = {BUY: defaultdict(int), SELL: defaultdict(int)}
        for oid in eng.open_order_ids(symbol):
            info = eng.open_order(oid)
            if info["status"] != PENDING_TRIGGER:
                summed[info["side"]][info["price"]] += info["remaining"]
        assert bids == sorted(summed[BUY].items(), reverse=True)
        assert asks == sorted(summed[SELL].items())
        # the drained changes rebuild depth exactly
        assert {(p, q) for (s, side, p), q in shadow.items() if s == symbol and side == BUY} == set(
            bids
        )
        assert {(p, q) for (s, side, p), q in shadow.items() if s == symbol and side == SELL} == (
            set(asks)
        )
    for oid, o in ref.live.items():
        expected = PENDING_TRIGGER if o.waiting else (PARTIALLY_FILLED if o.filled else NEW)
        assert eng.status(oid) == expected
    assert eng.open_order_ids() == [o.oid for o in ref.book_order()]
    ledger.check(eng)


SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIGHT = settings(SETTINGS, max_examples=100)  # the cross-checks of engine against engine


@SETTINGS
@given(message_lists)
def test_engine_matches_reference_model(msgs):
    msgs = resolve(msgs)
    eng = Engine()
    ref = Reference(SYMBOLS)
    for symbol in SYMBOLS:
        eng.add_book(symbol)
    ledger = Ledger()
    shadow: dict = {}
    for msg in msgs:
        got = apply_engine(eng, msg)
        want = apply_ref(ref, msg)
        assert got == want, f"message {msg}"
        ledger.apply(msg, got)
        check_engine(eng, ref, ledger, shadow)


@LIGHT
@given(message_lists, st.lists(st.integers(1, 10), min_size=1))
def test_batches_equal_single_messages(msgs, cuts):
    msgs = resolve(msgs)
    single = Engine()
    batched = Engine()
    for symbol in SYMBOLS:
        single.add_book(symbol)
        batched.add_book(symbol)
    want = [e for msg in msgs for e in apply_engine(single, msg)]
    got = []
    i = 0
    for size in cuts * (len(msgs) // len(cuts) + 1):
        if i >= len(msgs):
            break
        got += batched.process(msgs[i : i + size])
        i += size
    assert got == want
    assert batched.drain_level_changes() == single.drain_level_changes()
    for symbol in SYMBOLS:
        assert batched.depth(symbol, 1000) == single.depth(symbol, 1000)


def snapshot_into(eng: Engine) -> Engine:
    """A fresh engine rebuilt from ``eng``'s live orders, the way the worker recovers."""
    fresh = Engine()
    for symbol in SYMBOLS:
        fresh.add_book(symbol)
        fresh.set_last_price(symbol, eng.last_price(symbol))
    for oid in eng.open_order_ids():
        o = eng.open_order(oid)
        problems = fresh.restore_order(
            oid,
            o["account_id"],
            o["symbol"],
            o["side"],
            o["order_type"],
            o["tif"],
            o["qty"],
            o["price"],
            o["stop_price"],
            filled=o["filled"],
            triggered=o["status"] != PENDING_TRIGGER,
        )
        assert problems == []
    return fresh


@LIGHT
@given(message_lists, message_lists)
def test_restored_engine_behaves_like_the_original(before, after):
    both = resolve(before + after)
    before, after = both[: len(before)], both[len(before) :]
    eng = Engine()
    for symbol in SYMBOLS:
        eng.add_book(symbol)
    for msg in before:
        apply_engine(eng, msg)
    restored = snapshot_into(eng)
    for symbol in SYMBOLS:
        assert restored.depth(symbol, 1000) == eng.depth(symbol, 1000)
    for msg in after:
        assert apply_engine(restored, msg) == apply_engine(eng, msg), f"message {msg}"


@LIGHT
@given(message_lists)
def test_same_input_same_events(msgs):
    msgs = resolve(msgs)
    runs = []
    for _ in range(2):
        eng = Engine()
        for symbol in SYMBOLS:
            eng.add_book(symbol)
        runs.append(eng.process(msgs) + eng.drain_level_changes())
    assert runs[0] == runs[1]
