"""Stop and stop_limit orders: trigger on the last trade price, cascades, and their order."""

from matching import events as ev
from matching.codes import BUY, DAY, FOK, GTC, PENDING_TRIGGER, SELL, STOP, STOP_LIMIT

from .helpers import buy, engine, fills, kinds, only, sell


def stop(eng, oid, side, qty, stop_price, account=1, tif=GTC):
    return eng.submit(oid, account, "X", side, STOP, tif, qty, None, stop_price)


def stop_limit(eng, oid, side, qty, price, stop_price, account=1, tif=GTC):
    return eng.submit(oid, account, "X", side, STOP_LIMIT, tif, qty, price, stop_price)


def trade(eng, oid, price, qty=1):
    """Print a trade at ``price`` between two fresh accounts (no other liquidity there)."""
    sell(eng, oid, qty, price, account=1000 + oid)
    return buy(eng, oid + 1, qty, price, account=2000 + oid)


def test_stop_waits_without_a_last_price_and_is_not_in_depth():
    eng = engine()
    assert stop(eng, 1, BUY, 5, 105) == [(ev.ACCEPTED, 1, "X")]
    assert eng.status(1) == PENDING_TRIGGER
    assert eng.depth("X") == ([], [])
    assert eng.drain_level_changes() == []


def test_buy_stop_triggers_when_last_reaches_the_stop_and_enters_as_market():
    eng = engine()
    sell(eng, 1, 10, 106, account=5)
    stop(eng, 2, BUY, 4, 105, account=6)
    assert only(trade(eng, 10, 104), ev.TRIGGERED) == []
    events = trade(eng, 20, 105)
    assert events[-2:] == [
        (ev.TRIGGERED, 2, "X", 105, 105),
        (ev.FILL, "X", 106, 4, 2, 1, 6, 5, BUY, 0, 6),
    ]
    assert eng.status(2) is None
    assert eng.last_price("X") == 106


def test_sell_stop_triggers_when_last_falls_to_the_stop():
    eng = engine()
    buy(eng, 1, 10, 90, account=5)
    stop(eng, 2, SELL, 4, 95, account=6)
    trade(eng, 10, 96)
    assert eng.status(2) == PENDING_TRIGGER
    events = trade(eng, 20, 95)
    assert only(events, ev.TRIGGERED) == [(ev.TRIGGERED, 2, "X", 95, 95)]
    assert fills(events)[-1] == (90, 4, 2, 1)


def test_stop_limit_enters_as_a_limit_order_and_rests():
    eng = engine()
    sell(eng, 1, 2, 103, account=5)
    stop_limit(eng, 2, BUY, 5, 103, 101, account=6)
    events = trade(eng, 10, 101)
    assert events[-2:] == [
        (ev.TRIGGERED, 2, "X", 101, 101),
        (ev.FILL, "X", 103, 2, 2, 1, 6, 5, BUY, 3, 0),
    ]
    assert eng.depth("X") == ([(103, 3)], [])
    assert eng.status(2) == 2  # partially filled, resting


def test_stop_already_through_triggers_on_submit():
    eng = engine()
    trade(eng, 10, 100)
    sell(eng, 1, 5, 101, account=5)
    assert stop(eng, 2, BUY, 3, 99, account=6) == [
        (ev.ACCEPTED, 2, "X"),
        (ev.TRIGGERED, 2, "X", 99, 100),
        (ev.FILL, "X", 101, 3, 2, 1, 6, 5, BUY, 0, 2),
    ]
    # equal to last also counts as through
    assert kinds(stop(eng, 3, SELL, 1, 101, account=6))[:2] == [ev.ACCEPTED, ev.TRIGGERED]


def test_triggered_stop_market_on_empty_side_is_canceled():
    eng = engine()
    trade(eng, 10, 100)
    events = stop(eng, 1, SELL, 3, 100)
    assert events == [
        (ev.ACCEPTED, 1, "X"),
        (ev.TRIGGERED, 1, "X", 100, 100),
        (ev.CANCELED, 1, 3, ev.R_NO_LIQUIDITY),
    ]


def test_cascade_runs_in_trigger_order_then_arrival():
    eng = engine()
    # asks the stops will lift, one lot per level
    for i, price in enumerate((101, 102, 103, 104, 105)):
        sell(eng, 1 + i, 1, price, account=50 + i)
    # buy stops: arrival order 10, 11, 12, 13
    stop(eng, 10, BUY, 1, 103, account=7)
    stop(eng, 11, BUY, 1, 101, account=7)
    stop(eng, 12, BUY, 1, 102, account=8)
    stop(eng, 13, BUY, 1, 101, account=9)
    # the trade at 101 triggers 11 and 13 (stop 101, by arrival); 11 lifts 102, which triggers
    # 12 (stop 102); 13 lifts 103, which triggers 10; 12 lifts 104, 10 lifts 105.
    events = buy(eng, 20, 1, 101, account=99)
    assert only(events, ev.TRIGGERED) == [
        (ev.TRIGGERED, 11, "X", 101, 101),
        (ev.TRIGGERED, 13, "X", 101, 102),
        (ev.TRIGGERED, 12, "X", 102, 103),
        (ev.TRIGGERED, 10, "X", 103, 104),
    ]
    assert fills(events) == [
        (101, 1, 20, 1),
        (102, 1, 11, 2),
        (103, 1, 13, 3),
        (104, 1, 12, 4),
        (105, 1, 10, 5),
    ]
    assert eng.depth("X") == ([], [])


def test_one_sweep_triggers_stops_nearest_first_not_by_arrival():
    eng = engine()
    for i, price in enumerate((100, 101, 102)):
        sell(eng, 1 + i, 1, price, account=50 + i)
    sell(eng, 9, 10, 110, account=59)
    stop(eng, 10, BUY, 1, 102, account=7)  # arrives first, further away
    stop(eng, 11, BUY, 1, 101, account=7)
    events = buy(eng, 20, 3, 102, account=99)
    assert [e[1] for e in only(events, ev.TRIGGERED)] == [11, 10]


def test_stops_triggered_by_the_first_trade_run_before_those_of_later_trades():
    eng = engine()
    trade(eng, 100, 105)  # last = 105
    sell(eng, 1, 1, 100, account=50)  # an ask below the last price
    sell(eng, 2, 1, 106, account=51)
    buy(eng, 3, 5, 90, account=52)  # liquidity for the sell stop
    sell(eng, 4, 5, 120, account=53)  # liquidity for the buy stop
    stop(eng, 10, BUY, 1, 106, account=7)  # triggered by the second trade (106)
    stop(eng, 11, SELL, 1, 100, account=8)  # triggered by the first trade (100)
    events = buy(eng, 20, 2, 106, account=99)
    assert [e[1] for e in only(events, ev.TRIGGERED)] == [11, 10]


def test_buy_and_sell_stops_triggered_by_the_same_first_trade_buys_first():
    eng = engine()
    stop(eng, 10, SELL, 1, 100, account=7)
    stop(eng, 11, BUY, 1, 100, account=8)
    events = trade(eng, 1, 100)
    assert [e[1] for e in only(events, ev.TRIGGERED)] == [11, 10]


def test_cancel_and_expire_waiting_stops():
    eng = engine()
    stop(eng, 1, BUY, 5, 105)
    stop_limit(eng, 2, SELL, 5, 94, 95, tif=DAY)
    assert eng.cancel(1) == [(ev.CANCELED, 1, 5, ev.R_USER)]
    assert eng.expire_day_orders() == [(ev.EXPIRED, 2, 5)]
    assert len(eng) == 0
    trade(eng, 10, 200)
    trade(eng, 20, 1)
    assert len(eng) == 0


def test_fok_stop_checks_liquidity_when_triggered():
    eng = engine()
    sell(eng, 1, 2, 110, account=5)
    stop(eng, 2, BUY, 5, 105, account=6, tif=FOK)
    events = trade(eng, 10, 105)
    assert events[-2:] == [(ev.TRIGGERED, 2, "X", 105, 105), (ev.CANCELED, 2, 5, ev.R_FOK)]
    assert eng.depth("X") == ([], [(110, 2)])
