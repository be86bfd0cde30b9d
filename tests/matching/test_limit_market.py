"""Hand-worked examples: limit and market orders, partial fills, FIFO, ioc, fok, cancel."""

from matching import events as ev
from matching.codes import BUY, FOK, IOC, LIMIT, MARKET, NEW, PARTIALLY_FILLED, SELL

from .helpers import buy, engine, fills, kinds, market, sell


def test_resting_limit_is_accepted_and_shown_in_depth():
    eng = engine()
    assert buy(eng, 1, 10, 100) == [(ev.ACCEPTED, 1, "X")]
    assert sell(eng, 2, 4, 105) == [(ev.ACCEPTED, 2, "X")]
    assert eng.depth("X") == ([(100, 10)], [(105, 4)])
    assert (eng.best_bid("X"), eng.best_ask("X"), eng.last_price("X")) == (100, 105, None)
    assert eng.status(1) == NEW
    assert eng.open_order(1) == {
        "order_id": 1,
        "account_id": 1,
        "symbol": "X",
        "side": BUY,
        "order_type": LIMIT,
        "tif": 1,
        "qty": 10,
        "filled": 0,
        "remaining": 10,
        "price": 100,
        "stop_price": None,
        "status": NEW,
    }


def test_partial_fills_across_levels_then_remainder_rests():
    eng = engine()
    sell(eng, 1, 5, 100, account=1)
    sell(eng, 2, 5, 101, account=2)
    sell(eng, 3, 5, 102, account=3)
    events = buy(eng, 4, 12, 101, account=9)
    assert events == [
        (ev.ACCEPTED, 4, "X"),
        (ev.FILL, "X", 100, 5, 4, 1, 9, 1, BUY, 7, 0),
        (ev.FILL, "X", 101, 5, 4, 2, 9, 2, BUY, 2, 0),
    ]
    assert eng.depth("X") == ([(101, 2)], [(102, 5)])
    assert eng.last_price("X") == 101
    assert eng.status(4) == PARTIALLY_FILLED
    assert eng.open_order(4)["filled"] == 10
    assert eng.status(1) is None and eng.status(2) is None  # filled orders are forgotten


def test_fifo_within_a_level():
    eng = engine()
    for oid in (1, 2, 3):
        sell(eng, oid, 3, 100, account=oid)
    events = buy(eng, 4, 5, 100, account=9)
    assert fills(events) == [(100, 3, 4, 1), (100, 2, 4, 2)]
    assert events[-1][-1] == 1  # maker 2 keeps 1
    assert eng.open_order(2)["remaining"] == 1
    assert eng.open_order(3)["remaining"] == 3
    # the partially filled order keeps its place at the front
    assert fills(buy(eng, 5, 2, 100, account=9)) == [(100, 1, 5, 2), (100, 1, 5, 3)]


def test_fill_price_is_the_resting_price():
    eng = engine()
    buy(eng, 1, 5, 100, account=1)
    buy(eng, 2, 5, 98, account=2)
    events = sell(eng, 3, 8, 95, account=3)
    assert fills(events) == [(100, 5, 3, 1), (98, 3, 3, 2)]
    assert events[-1] == (ev.FILL, "X", 98, 3, 3, 2, 3, 2, SELL, 0, 2)
    assert eng.depth("X") == ([(98, 2)], [])


def test_market_order_on_empty_book_is_canceled_no_liquidity():
    eng = engine()
    assert market(eng, 1, BUY, 10) == [
        (ev.ACCEPTED, 1, "X"),
        (ev.CANCELED, 1, 10, ev.R_NO_LIQUIDITY),
    ]
    assert eng.depth("X") == ([], [])
    assert eng.status(1) is None


def test_market_order_sweeps_then_cancels_the_rest():
    eng = engine()
    sell(eng, 1, 5, 100, account=1)
    sell(eng, 2, 2, 150, account=2)
    events = market(eng, 3, BUY, 8, account=3)
    assert events == [
        (ev.ACCEPTED, 3, "X"),
        (ev.FILL, "X", 100, 5, 3, 1, 3, 1, BUY, 3, 0),
        (ev.FILL, "X", 150, 2, 3, 2, 3, 2, BUY, 1, 0),
        (ev.CANCELED, 3, 1, ev.R_NO_LIQUIDITY),
    ]
    assert eng.depth("X") == ([], [])
    assert eng.last_price("X") == 150


def test_market_sell_fills_completely():
    eng = engine()
    buy(eng, 1, 5, 100, account=1)
    events = market(eng, 2, SELL, 3, account=2)
    assert kinds(events) == [ev.ACCEPTED, ev.FILL]
    assert eng.depth("X") == ([(100, 2)], [])


def test_ioc_fills_what_it_can_and_cancels_the_rest():
    eng = engine()
    sell(eng, 1, 4, 100, account=1)
    sell(eng, 2, 4, 101, account=1)
    sell(eng, 3, 4, 102, account=1)
    events = buy(eng, 4, 10, 101, account=2, tif=IOC)
    assert events == [
        (ev.ACCEPTED, 4, "X"),
        (ev.FILL, "X", 100, 4, 4, 1, 2, 1, BUY, 6, 0),
        (ev.FILL, "X", 101, 4, 4, 2, 2, 1, BUY, 2, 0),
        (ev.CANCELED, 4, 2, ev.R_IOC),
    ]
    assert eng.depth("X") == ([], [(102, 4)])


def test_ioc_that_does_not_cross_is_canceled_whole():
    eng = engine()
    sell(eng, 1, 4, 100)
    assert buy(eng, 2, 3, 99, account=2, tif=IOC) == [
        (ev.ACCEPTED, 2, "X"),
        (ev.CANCELED, 2, 3, ev.R_IOC),
    ]
    assert eng.depth("X") == ([], [(100, 4)])


def test_fok_without_enough_liquidity_leaves_no_trace():
    eng = engine()
    sell(eng, 1, 4, 100, account=1)
    sell(eng, 2, 4, 101, account=1)
    sell(eng, 3, 4, 103, account=1)  # beyond the limit
    eng.drain_level_changes()
    events = buy(eng, 4, 9, 102, account=2, tif=FOK)
    assert events == [(ev.ACCEPTED, 4, "X"), (ev.CANCELED, 4, 9, ev.R_FOK)]
    assert eng.depth("X") == ([], [(100, 4), (101, 4), (103, 4)])
    assert eng.drain_level_changes() == []
    assert eng.last_price("X") is None


def test_fok_with_exactly_enough_fills_completely():
    eng = engine()
    sell(eng, 1, 4, 100, account=1)
    sell(eng, 2, 4, 101, account=1)
    events = buy(eng, 3, 8, 101, account=2, tif=FOK)
    assert fills(events) == [(100, 4, 3, 1), (101, 4, 3, 2)]
    assert kinds(events) == [ev.ACCEPTED, ev.FILL, ev.FILL]
    assert eng.depth("X") == ([], [])


def test_fok_market_order():
    eng = engine()
    buy(eng, 1, 4, 100, account=1)
    assert market(eng, 2, SELL, 5, account=2, tif=FOK) == [
        (ev.ACCEPTED, 2, "X"),
        (ev.CANCELED, 2, 5, ev.R_FOK),
    ]
    assert kinds(market(eng, 3, SELL, 4, account=2, tif=FOK)) == [ev.ACCEPTED, ev.FILL]


def test_cancel_reports_the_open_remainder():
    eng = engine()
    sell(eng, 1, 10, 100, account=1)
    buy(eng, 2, 3, 100, account=2)
    assert eng.cancel(1) == [(ev.CANCELED, 1, 7, ev.R_USER)]
    assert eng.depth("X") == ([], [])
    assert eng.cancel(1) == [(ev.REJECTED, 1, ev.R_UNKNOWN_ORDER)]
    assert eng.cancel(2) == [(ev.REJECTED, 2, ev.R_UNKNOWN_ORDER)]  # filled: not live
    assert eng.cancel(12345) == [(ev.REJECTED, 12345, ev.R_UNKNOWN_ORDER)]


def test_cancel_in_the_middle_of_a_level_keeps_the_others_in_order():
    eng = engine()
    for oid in (1, 2, 3, 4):
        sell(eng, oid, 1, 100, account=oid)
    eng.cancel(2)
    eng.cancel(3)
    assert eng.depth("X") == ([], [(100, 2)])
    assert fills(buy(eng, 9, 2, 100, account=9)) == [(100, 1, 9, 1), (100, 1, 9, 4)]


def test_many_cancels_in_one_level_compact_it_and_keep_fifo():
    eng = engine()
    for oid in range(1, 201):
        sell(eng, oid, 1, 100, account=oid)
    for oid in range(1, 200, 2):  # cancel every odd order
        eng.cancel(oid)
    assert eng.depth("X") == ([], [(100, 100)])
    got = fills(buy(eng, 1000, 100, 100, account=999))
    assert [maker for _, _, _, maker in got] == list(range(2, 201, 2))


def test_a_sweep_skips_canceled_orders_at_the_front():
    eng = engine()
    for oid in (1, 2, 3):
        buy(eng, oid, 2, 100, account=oid)
    eng.cancel(1)
    eng.cancel(2)
    assert fills(sell(eng, 4, 2, 100, account=9)) == [(100, 2, 4, 3)]


def test_market_type_with_limit_code_round_trip_through_submit_signature():
    eng = engine()
    events = eng.submit(1, 1, "X", BUY, MARKET, IOC, 1, None, None)
    assert events[-1] == (ev.CANCELED, 1, 1, ev.R_NO_LIQUIDITY)
