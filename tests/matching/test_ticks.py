from decimal import Decimal

import pytest

from matching.ticks import from_ticks, to_ticks


@pytest.mark.parametrize(
    ("price", "tick", "ticks"),
    [
        ("101.25", "0.01", 10125),
        ("101.25", "0.25", 405),
        ("0.05", "0.05", 1),
        ("100", "1", 100),
        ("100", "0.01", 10000),
        ("-1.50", "0.50", -3),
    ],
)
def test_to_ticks_exact(price, tick, ticks):
    assert to_ticks(Decimal(price), Decimal(tick)) == ticks


@pytest.mark.parametrize(("price", "tick"), [("101.255", "0.01"), ("1.10", "0.25"), ("3", "2")])
def test_to_ticks_off_tick_raises(price, tick):
    with pytest.raises(ValueError, match="not a multiple"):
        to_ticks(Decimal(price), Decimal(tick))


@pytest.mark.parametrize("tick", ["0", "-0.01", "NaN", "Infinity"])
def test_to_ticks_bad_tick_size(tick):
    with pytest.raises(ValueError):
        to_ticks(Decimal("1"), Decimal(tick))


def test_to_ticks_rejects_non_finite_and_garbage():
    with pytest.raises(ValueError):
        to_ticks(Decimal("NaN"), Decimal("0.01"))
    with pytest.raises(ValueError):
        to_ticks("abc", Decimal("0.01"))


def test_to_ticks_huge_is_value_error_not_invalid_operation():
    with pytest.raises(ValueError):
        to_ticks(Decimal("1e40"), Decimal("1e-10"))


def test_from_ticks_keeps_tick_decimals_and_round_trips():
    assert from_ticks(10125, Decimal("0.01")) == Decimal("101.25")
    assert str(from_ticks(10100, Decimal("0.01"))) == "101.00"
    assert str(from_ticks(405, Decimal("0.25"))) == "101.25"
    for ticks in (1, 7, 12345, 999999):
        assert to_ticks(from_ticks(ticks, Decimal("0.05")), Decimal("0.05")) == ticks


def test_from_ticks_rejects_bad_input():
    with pytest.raises(ValueError):
        from_ticks(1.5, Decimal("0.01"))
    with pytest.raises(ValueError):
        from_ticks(1, Decimal("0"))
