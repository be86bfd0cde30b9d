"""Day expiry, level-change draining, depth, recovery (restore_order / set_last_price), process()."""

import pytest

from matching import events as ev
from matching.codes import (
    BUY,
    CANCEL,
    DAY,
    EXPIRE,
    GTC,
    IOC,
    LIMIT,
    PARTIALLY_FILLED,
    PENDING_TRIGGER,
    REPLACE,
    SELL,
    STOP,
    STOP_LIMIT,
    SUBMIT,
)

from .helpers import buy, engine, sell


def test_day_orders_expire_at_session_end_and_gtc_stay():
    eng = engine("X", "Y")
    buy(eng, 1, 5, 100, tif=DAY)
    buy(eng, 2, 5, 100, tif=GTC)
    sell(eng, 3, 5, 110, tif=DAY)
    eng.submit(4, 1, "Y", BUY, LIMIT, DAY, 7, 50)
    sell(eng, 5, 2, 100, account=9)  # partially fills order 1
    assert eng.expire_day_orders("X") == [(ev.EXPIRED, 1, 3), (ev.EXPIRED, 3, 5)]
    assert eng.depth("X") == ([(100, 5)], [])
    assert eng.depth("Y") == ([(50, 7)], [])
    assert eng.expire_day_orders() == [(ev.EXPIRED, 4, 7)]
    assert eng.expire_day_orders() == []
    assert eng.expire_day_orders("NOPE") == []
    assert eng.open_order_ids() == [2]


def test_drain_reports_absolute_sizes_once_per_change_set():
    eng = engine()
    assert eng.drain_level_changes() == []
    buy(eng, 1, 5, 100)
    buy(eng, 2, 3, 100)
    sell(eng, 3, 4, 105)
    assert eng.drain_level_changes() == [("X", BUY, 100, 8), ("X", SELL, 105, 4)]
    assert eng.drain_level_changes() == []
    sell(eng, 4, 6, 100, account=2)  # fills 5 + 1
    eng.cancel(3)
    assert eng.drain_level_changes() == [("X", BUY, 100, 2), ("X", SELL, 105, 0)]
    eng.cancel(2)
    buy(eng, 5, 1, 99)
    buy(eng, 6, 1, 99)
    assert eng.drain_level_changes() == [("X", BUY, 100, 0), ("X", BUY, 99, 2)]


def test_drain_covers_every_book():
    eng = engine("A", "B")
    eng.submit(1, 1, "B", SELL, LIMIT, GTC, 2, 10)
    eng.submit(2, 1, "A", BUY, LIMIT, GTC, 3, 9)
    assert eng.drain_level_changes() == [("A", BUY, 9, 3), ("B", SELL, 10, 2)]


def test_depth_limits_levels_and_orders_best_first():
    eng = engine()
    for i, p in enumerate((97, 99, 98, 96)):
        buy(eng, 1 + i, 1 + i, p)
    for i, p in enumerate((103, 101, 102)):
        sell(eng, 10 + i, 1, p)
    assert eng.depth("X", 2) == ([(99, 2), (98, 3)], [(101, 1), (102, 1)])
    assert eng.depth("X", 0) == ([], [])
    assert eng.depth("X", 100)[0] == [(99, 2), (98, 3), (97, 1), (96, 4)]
    with pytest.raises(KeyError):
        eng.depth("NOPE")


def test_add_book_twice_is_an_error():
    eng = engine()
    with pytest.raises(ValueError):
        eng.add_book("X")
    assert eng.symbols() == ["X"]


def test_restore_rebuilds_levels_in_the_given_order_without_matching():
    eng = engine()
    eng.set_last_price("X", 100)
    assert eng.restore_order(5, 1, "X", BUY, LIMIT, GTC, 10, 99, filled=4) == []
    assert eng.restore_order(3, 2, "X", BUY, LIMIT, DAY, 2, 99) == []
    assert eng.restore_order(8, 3, "X", SELL, LIMIT, GTC, 1, 101) == []
    assert eng.restore_order(9, 4, "X", SELL, STOP, GTC, 1, None, 90) == []
    assert eng.restore_order(7, 4, "X", BUY, STOP_LIMIT, GTC, 2, 100, 100, triggered=True) == []
    assert eng.restore_order(6, 4, "X", BUY, STOP_LIMIT, GTC, 2, 102, 120) == []
    assert eng.depth("X") == ([(100, 2), (99, 8)], [(101, 1)])
    assert eng.open_order_ids() == [7, 5, 3, 8, 6, 9]  # book order: bids, asks, stops
    assert eng.status(5) == PARTIALLY_FILLED and eng.status(9) == PENDING_TRIGGER
    assert eng.open_order(5)["remaining"] == 6
    assert eng.last_price("X") == 100


def test_restore_keeps_fifo_and_then_matches_normally():
    eng = engine()
    assert eng.restore_order(5, 1, "X", BUY, LIMIT, GTC, 10, 99, filled=4) == []
    assert eng.restore_order(3, 2, "X", BUY, LIMIT, DAY, 2, 99) == []
    events = sell(eng, 20, 7, 99, account=9)
    assert [(e[5], e[3]) for e in events if e[0] == ev.FILL] == [(5, 6), (3, 1)]


@pytest.mark.parametrize(
    ("args", "kwargs", "reason"),
    [
        ((1, 1, "NOPE", BUY, LIMIT, GTC, 5, 99), {}, ev.R_UNKNOWN_SYMBOL),
        ((1, 1, "X", BUY, LIMIT, GTC, 5, 99), {"filled": 5}, ev.R_QTY_NOT_ABOVE_FILLED),
        ((1, 1, "X", BUY, LIMIT, GTC, 5, 99), {"filled": -1}, ev.R_QTY_NOT_ABOVE_FILLED),
        ((1, 1, "X", BUY, LIMIT, GTC, 0, 99), {}, ev.R_BAD_QTY),
        ((1, 1, "X", BUY, LIMIT, IOC, 5, 99), {}, ev.R_BAD_TIF),
        ((1, 1, "X", BUY, LIMIT, GTC, 5, None), {}, ev.R_BAD_PRICE),
        ((1, 1, "X", BUY, 2, GTC, 5), {}, ev.R_CANNOT_REST),
        ((1, 1, "X", BUY, STOP, GTC, 5, None, 90), {"triggered": True}, ev.R_CANNOT_REST),
        ((1, 1, "X", BUY, LIMIT, GTC, 5, 101), {}, ev.R_CROSSES_BOOK),
        ((2, 1, "X", BUY, LIMIT, GTC, 5, 90), {}, ev.R_DUPLICATE_ID),
    ],
)
def test_restore_rejects_what_cannot_be_live(args, kwargs, reason):
    eng = engine()
    eng.restore_order(2, 9, "X", SELL, LIMIT, GTC, 5, 101)
    assert eng.restore_order(*args, **kwargs) == [(ev.REJECTED, args[0], reason)]
    assert eng.depth("X") == ([], [(101, 5)])


def test_set_last_price_validates_and_does_not_trigger():
    eng = engine()
    eng.submit(1, 1, "X", BUY, STOP, GTC, 1, None, 100)
    eng.set_last_price("X", 150)
    assert eng.status(1) == PENDING_TRIGGER
    with pytest.raises(ValueError):
        eng.set_last_price("X", 0)
    eng.set_last_price("X", None)
    assert eng.last_price("X") is None


def test_process_batch_equals_one_call_per_message():
    msgs = [
        (SUBMIT, 1, 1, "X", SELL, LIMIT, GTC, 5, 101, None),
        (SUBMIT, 2, 2, "X", SELL, LIMIT, DAY, 5, 102, None),
        (SUBMIT, 3, 3, "X", BUY, STOP, GTC, 2, None, 101),
        (SUBMIT, 4, 4, "X", BUY, LIMIT, IOC, 6, 101, None),
        (REPLACE, 2, 3, None),
        (CANCEL, 99),
        (SUBMIT, 5, 5, "X", BUY, LIMIT, GTC, 9, 100, None),
        (EXPIRE, None),
    ]
    batch = engine()
    one = engine()
    expected = []
    for kind, *rest in msgs:
        if kind == SUBMIT:
            expected += one.submit(*rest)
        elif kind == CANCEL:
            expected += one.cancel(*rest)
        elif kind == REPLACE:
            expected += one.replace(*rest)
        else:
            expected += one.expire_day_orders(*rest)
    assert batch.process(msgs) == expected
    assert batch.drain_level_changes() == one.drain_level_changes()
    assert [e[0] for e in expected].count(ev.FILL) == 2
