import pytest

from matching import codes
from matching import events as ev


def test_string_maps_round_trip():
    assert codes.SIDES == {"buy": codes.BUY, "sell": codes.SELL}
    assert codes.ORDER_TYPES["stop_limit"] == codes.STOP_LIMIT
    assert codes.TIFS["fok"] == codes.FOK
    for forward, backward in (
        (codes.SIDES, codes.SIDE_NAMES),
        (codes.ORDER_TYPES, codes.ORDER_TYPE_NAMES),
        (codes.TIFS, codes.TIF_NAMES),
        (codes.STATUSES, codes.STATUS_NAMES),
    ):
        assert {v: k for k, v in forward.items()} == backward
    assert codes.opposite(codes.BUY) == codes.SELL and codes.opposite(codes.SELL) == codes.BUY


def test_event_kinds_are_distinct_and_described():
    kinds = [ev.ACCEPTED, ev.REJECTED, ev.FILL, ev.CANCELED, ev.EXPIRED, ev.REPLACED, ev.TRIGGERED]
    assert len(set(kinds)) == len(kinds)
    assert set(ev.FIELDS) == set(kinds) == set(ev.KIND_NAMES)


def test_describe_fill_names_every_field():
    fill = (ev.FILL, "X", 100, 5, 2, 1, 20, 10, codes.BUY, 3, 0)
    assert ev.describe(fill) == {
        "kind": "fill",
        "symbol": "X",
        "price": 100,
        "qty": 5,
        "taker_id": 2,
        "maker_id": 1,
        "taker_account": 20,
        "maker_account": 10,
        "taker_side": "buy",
        "taker_remaining": 3,
        "maker_remaining": 0,
    }


def test_describe_other_kinds():
    assert ev.describe((ev.CANCELED, 7, 4, ev.R_IOC)) == {
        "kind": "canceled",
        "order_id": 7,
        "remaining": 4,
        "reason": "ioc remainder",
    }
    assert ev.describe((ev.REPLACED, 7, 10, 99, 6, True))["kept_priority"] is True


def test_describe_rejects_non_events():
    with pytest.raises(ValueError):
        ev.describe((99, 1))
    with pytest.raises(ValueError):
        ev.describe((ev.FILL, "X"))


def test_events_module_reexports_order_codes():
    assert ev.BUY == codes.BUY and ev.LIMIT == codes.LIMIT and ev.GTC == codes.GTC
