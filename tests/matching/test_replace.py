"""Replace: keeping or losing time priority, re-pricing into a match, and its rejects."""

from matching import events as ev
from matching.codes import BUY, GTC, PENDING_TRIGGER, SELL, STOP, STOP_LIMIT

from .helpers import buy, engine, fills, sell


def three_bids(eng):
    for oid in (1, 2, 3):
        buy(eng, oid, 5, 100, account=oid)


def test_reducing_qty_keeps_time_priority():
    eng = engine()
    three_bids(eng)
    assert eng.replace(1, qty=2) == [(ev.REPLACED, 1, 2, 100, 2, True)]
    assert eng.depth("X") == ([(100, 12)], [])
    assert [m for *_, m in fills(sell(eng, 9, 3, 100, account=9))] == [1, 2]


def test_increasing_qty_loses_time_priority():
    eng = engine()
    three_bids(eng)
    assert eng.replace(1, qty=6) == [(ev.REPLACED, 1, 6, 100, 6, False)]
    assert eng.depth("X") == ([(100, 16)], [])
    got = fills(sell(eng, 9, 16, 100, account=9))
    assert [m for *_, m in got] == [2, 3, 1]


def test_new_price_loses_priority_even_back_at_the_same_level():
    eng = engine()
    three_bids(eng)
    eng.replace(1, price=99)
    eng.replace(1, price=100)
    assert [m for *_, m in fills(sell(eng, 9, 15, 100, account=9))] == [2, 3, 1]


def test_same_price_and_qty_is_a_no_op_that_keeps_priority():
    eng = engine()
    three_bids(eng)
    assert eng.replace(1, qty=5, price=100) == [(ev.REPLACED, 1, 5, 100, 5, True)]
    assert [m for *_, m in fills(sell(eng, 9, 5, 100, account=9))] == [1]


def test_qty_is_the_new_total_and_must_exceed_the_filled_qty():
    eng = engine()
    buy(eng, 1, 10, 100, account=1)
    sell(eng, 2, 4, 100, account=2)  # 4 filled, 6 open
    assert eng.replace(1, qty=4) == [(ev.REJECTED, 1, ev.R_QTY_NOT_ABOVE_FILLED)]
    assert eng.replace(1, qty=3) == [(ev.REJECTED, 1, ev.R_QTY_NOT_ABOVE_FILLED)]
    assert eng.replace(1, qty=5) == [(ev.REPLACED, 1, 5, 100, 1, True)]
    assert eng.open_order(1)["remaining"] == 1 and eng.open_order(1)["filled"] == 4
    assert eng.depth("X") == ([(100, 1)], [])
    assert eng.replace(1, qty=20) == [(ev.REPLACED, 1, 20, 100, 16, False)]
    assert eng.depth("X") == ([(100, 16)], [])


def test_new_price_that_crosses_matches_at_once():
    eng = engine()
    sell(eng, 1, 3, 101, account=1)
    sell(eng, 2, 3, 102, account=2)
    buy(eng, 3, 5, 99, account=3)
    events = eng.replace(3, price=101)
    assert events == [
        (ev.REPLACED, 3, 5, 101, 5, False),
        (ev.FILL, "X", 101, 3, 3, 1, 3, 1, BUY, 2, 0),
    ]
    assert eng.depth("X") == ([(101, 2)], [(102, 3)])
    assert eng.last_price("X") == 101


def test_replace_that_crosses_own_order_is_stopped_by_stp():
    eng = engine()
    sell(eng, 1, 3, 101, account=3)
    buy(eng, 2, 5, 99, account=3)
    assert eng.replace(2, price=102) == [
        (ev.REPLACED, 2, 5, 102, 5, False),
        (ev.CANCELED, 2, 5, ev.R_STP),
    ]
    assert eng.depth("X") == ([], [(101, 3)])


def test_replace_rejects():
    eng = engine()
    buy(eng, 1, 5, 100)
    assert eng.replace(77, qty=1) == [(ev.REJECTED, 77, ev.R_UNKNOWN_ORDER)]
    assert eng.replace(1) == [(ev.REJECTED, 1, ev.R_NOTHING_TO_REPLACE)]
    assert eng.replace(1, qty=0) == [(ev.REJECTED, 1, ev.R_QTY_NOT_ABOVE_FILLED)]
    assert eng.replace(1, qty=2.5) == [(ev.REJECTED, 1, ev.R_BAD_QTY)]
    assert eng.replace(1, price=0) == [(ev.REJECTED, 1, ev.R_BAD_PRICE)]
    assert eng.replace(1, price=99.5) == [(ev.REJECTED, 1, ev.R_BAD_PRICE)]
    assert eng.depth("X") == ([(100, 5)], [])
    sell(eng, 2, 5, 100, account=2)  # fills order 1 completely
    assert eng.replace(1, qty=9) == [(ev.REJECTED, 1, ev.R_UNKNOWN_ORDER)]


def test_replace_of_a_waiting_stop():
    eng = engine()
    eng.submit(1, 1, "X", SELL, STOP, GTC, 5, None, 90)
    eng.submit(2, 1, "X", SELL, STOP_LIMIT, GTC, 5, 89, 90)
    assert eng.replace(1, price=95) == [(ev.REJECTED, 1, ev.R_PRICE_NOT_ALLOWED)]
    assert eng.replace(1, qty=3) == [(ev.REPLACED, 1, 3, None, 3, True)]
    assert eng.replace(2, price=88) == [(ev.REPLACED, 2, 5, 88, 5, False)]
    assert eng.status(2) == PENDING_TRIGGER
    assert eng.open_order(2)["price"] == 88
    assert eng.depth("X") == ([], [])
