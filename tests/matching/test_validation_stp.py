"""Rejects of bad input (never an exception, never a changed book) and self-trade prevention."""

import pytest

from matching import events as ev
from matching.codes import (
    BUY,
    CANCEL,
    DAY,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    STOP,
    STOP_LIMIT,
    SUBMIT,
)

from .helpers import buy, engine, fills, kinds, sell


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((1, 1, "NOPE", BUY, LIMIT, GTC, 1, 100), ev.R_UNKNOWN_SYMBOL),
        ((1, 1, "X", BUY, LIMIT, GTC, 0, 100), ev.R_BAD_QTY),
        ((1, 1, "X", BUY, LIMIT, GTC, -5, 100), ev.R_BAD_QTY),
        ((1, 1, "X", BUY, LIMIT, GTC, 1.5, 100), ev.R_BAD_QTY),
        ((1, 1, "X", BUY, LIMIT, GTC, True, 100), ev.R_BAD_QTY),
        ((1, 1, "X", BUY, LIMIT, GTC, "3", 100), ev.R_BAD_QTY),
        ((1, 1, "X", BUY, LIMIT, GTC, 1, 0), ev.R_BAD_PRICE),
        ((1, 1, "X", BUY, LIMIT, GTC, 1, -3), ev.R_BAD_PRICE),
        ((1, 1, "X", BUY, LIMIT, GTC, 1, None), ev.R_BAD_PRICE),
        ((1, 1, "X", BUY, LIMIT, GTC, 1, 100.0), ev.R_BAD_PRICE),
        ((1, 1, "X", SELL, STOP_LIMIT, GTC, 1, None, 90), ev.R_BAD_PRICE),
        ((1, 1, "X", SELL, STOP, GTC, 1), ev.R_BAD_STOP),
        ((1, 1, "X", SELL, STOP, GTC, 1, None, 0), ev.R_BAD_STOP),
        ((1, 1, "X", SELL, STOP_LIMIT, GTC, 1, 90, None), ev.R_BAD_STOP),
        ((1, 1, "X", BUY, LIMIT, GTC, 1, 100, 90), ev.R_STOP_NOT_ALLOWED),
        ((1, 1, "X", BUY, MARKET, GTC, 1, 100), ev.R_PRICE_NOT_ALLOWED),
        ((1, 1, "X", BUY, STOP, GTC, 1, 100, 90), ev.R_PRICE_NOT_ALLOWED),
        ((1, 1, "X", 0, LIMIT, GTC, 1, 100), ev.R_BAD_SIDE),
        ((1, 1, "X", "buy", LIMIT, GTC, 1, 100), ev.R_BAD_SIDE),
        ((1, 1, "X", BUY, 99, GTC, 1, 100), ev.R_BAD_TYPE),
        ((1, 1, "X", BUY, LIMIT, 99, 1, 100), ev.R_BAD_TIF),
        ((1, 1, "X", BUY, LIMIT, [GTC], 1, 100), ev.R_BAD_TIF),
    ],
)
def test_bad_submits_are_rejected_without_touching_the_book(args, reason):
    eng = engine()
    sell(eng, 50, 5, 100, account=7)
    eng.drain_level_changes()
    assert eng.submit(*args) == [(ev.REJECTED, 1, reason)]
    assert eng.depth("X") == ([], [(100, 5)])
    assert eng.drain_level_changes() == []
    assert eng.status(1) is None
    assert len(eng) == 1


def test_duplicate_live_order_id_is_rejected():
    eng = engine()
    buy(eng, 1, 5, 100)
    assert buy(eng, 1, 7, 99) == [(ev.REJECTED, 1, ev.R_DUPLICATE_ID)]
    assert sell(eng, 1, 7, 200) == [(ev.REJECTED, 1, ev.R_DUPLICATE_ID)]
    assert eng.submit(1, 1, "X", SELL, STOP, GTC, 1, None, 50) == [
        (ev.REJECTED, 1, ev.R_DUPLICATE_ID)
    ]
    assert eng.depth("X") == ([(100, 5)], [])
    assert eng.open_order(1)["qty"] == 5


def test_duplicate_of_a_waiting_stop_is_rejected():
    eng = engine()
    eng.submit(1, 1, "X", SELL, STOP, GTC, 1, None, 50)
    assert buy(eng, 1, 1, 100) == [(ev.REJECTED, 1, ev.R_DUPLICATE_ID)]


def test_malformed_messages_are_rejected_by_process():
    eng = engine()
    sell(eng, 99, 1, 200)
    bad = [
        (SUBMIT, 1, 1, "X", BUY, LIMIT, GTC, 1, 100),  # one field short
        (SUBMIT, [1], 1, "X", BUY, LIMIT, GTC, 1, 100, None),  # unhashable id
        (SUBMIT, 2, 1, ["X"], BUY, LIMIT, GTC, 1, 100, None),  # unhashable symbol
        (CANCEL, {}),
        (CANCEL,),
        (42, 1),
        (),
    ]
    events = eng.process(bad)
    assert [e[0] for e in events] == [ev.REJECTED] * len(bad)
    assert {e[2] for e in events} == {ev.R_MALFORMED}
    assert [e[1] for e in events] == [1, None, 2, None, None, 1, None]
    assert len(eng) == 1


def test_stp_cancels_the_incoming_remainder_at_the_first_own_order():
    eng = engine()
    sell(eng, 1, 3, 99, account=2)
    sell(eng, 2, 5, 100, account=1)
    sell(eng, 3, 5, 100, account=3)
    events = buy(eng, 4, 10, 100, account=1)
    assert events == [
        (ev.ACCEPTED, 4, "X"),
        (ev.FILL, "X", 99, 3, 4, 1, 1, 2, BUY, 7, 0),
        (ev.CANCELED, 4, 7, ev.R_STP),
    ]
    assert eng.depth("X") == ([], [(100, 10)])  # both resting orders untouched
    assert eng.status(4) is None


def test_stp_applies_to_gtc_limit_that_would_otherwise_rest():
    eng = engine()
    buy(eng, 1, 5, 100, account=1)
    assert sell(eng, 2, 5, 90, account=1) == [
        (ev.ACCEPTED, 2, "X"),
        (ev.CANCELED, 2, 5, ev.R_STP),
    ]
    assert eng.depth("X") == ([(100, 5)], [])


def test_stp_applies_to_market_orders():
    eng = engine()
    buy(eng, 1, 5, 100, account=1)
    events = eng.submit(2, 1, "X", SELL, MARKET, IOC, 5)
    assert events[-1] == (ev.CANCELED, 2, 5, ev.R_STP)


def test_orders_of_other_accounts_trade_normally():
    eng = engine()
    buy(eng, 1, 5, 100, account=1)
    assert fills(sell(eng, 2, 5, 100, account=2)) == [(100, 5, 2, 1)]


def test_fok_counts_only_liquidity_before_the_first_own_order():
    eng = engine()
    sell(eng, 1, 3, 100, account=2)
    sell(eng, 2, 3, 100, account=1)  # own order: the sweep would stop here
    sell(eng, 3, 10, 101, account=3)
    events = buy(eng, 4, 5, 101, account=1, tif=FOK)
    assert events == [(ev.ACCEPTED, 4, "X"), (ev.CANCELED, 4, 5, ev.R_FOK)]
    assert eng.depth("X") == ([], [(100, 6), (101, 10)])
    # but 3 are there before the own order: a 3-lot fok fills
    assert fills(buy(eng, 5, 3, 101, account=1, tif=FOK)) == [(100, 3, 5, 1)]


def test_day_and_ioc_and_fok_tifs_are_accepted_values():
    eng = engine()
    assert kinds(buy(eng, 1, 1, 100, tif=DAY)) == [ev.ACCEPTED]
    assert kinds(buy(eng, 2, 1, 100, tif=IOC)) == [ev.ACCEPTED, ev.CANCELED]
    assert kinds(buy(eng, 3, 1, 100, tif=FOK)) == [ev.ACCEPTED, ev.CANCELED]
