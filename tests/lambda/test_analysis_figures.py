"""The figures of a small hand-made day, worked out by hand here, independently of the code."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from trade_analyzer import TradeCsvError, analyze_lines

from tests.support.trade_csv import HEADER_LINE, trade_line

DAY = "2025-01-20"

# AAPL: t4 is out of order (earliest, so it is the open); t3 and t5 share the latest timestamp
# (the close is the later one in the file, t5); t2 and t4 share the largest quantity (the
# largest trade is the first in the file, t2). MSFT has a 4-decimal price and trades at both
# ends of the UTC day.
ROWS = [
    trade_line("t1", "2025-01-20T14:30:00.000000Z", "AAPL", "buy", "150.00", 100, 7, "o1"),
    trade_line("t2", "2025-01-20T14:45:10.500000Z", "AAPL", "sell", "151.50", 200, 8, "o2"),
    trade_line("t3", "2025-01-20T15:05:00.000000Z", "AAPL", "buy", "149.25", 50, 7, "o3"),
    trade_line("t4", "2025-01-20T14:00:00.000000Z", "AAPL", "sell", "150.10", 200, 9, "o4"),
    trade_line("t5", "2025-01-20T15:05:00.000000Z", "AAPL", "sell", "149.75", 10, 9, "o5"),
    trade_line("m1", "2025-01-20T00:15:00.000001Z", "MSFT", "buy", "400.0001", 3, 7, "o6"),
    trade_line("m2", "2025-01-20T23:59:59.999999Z", "MSFT", "sell", "399.99", 7, 8, "o7"),
]


def hourly(**volumes: int) -> dict[str, int]:
    """All 24 UTC hours, zero unless given as h14=500 etc."""
    return {f"{h:02d}": volumes.get(f"h{h:02d}", 0) for h in range(24)}


@pytest.fixture(scope="module")
def result() -> dict:
    return analyze_lines([HEADER_LINE, *ROWS], day=DAY)


def test_aapl_by_hand(result):
    aapl = result["tickers"]["AAPL"]
    notional = (
        Decimal("150.00") * 100
        + Decimal("151.50") * 200
        + Decimal("149.25") * 50
        + Decimal("150.10") * 200
        + Decimal("149.75") * 10
    )  # 15000 + 30300 + 7462.5 + 30020 + 1497.5
    assert notional == Decimal("84280.00")
    assert aapl["trades"] == 5
    assert aapl["volume"] == 560
    assert aapl["notional"] == "84280.00"
    assert aapl["vwap"] == "150.500000"  # 84280 / 560 = 150.5 exactly
    assert (aapl["open"], aapl["high"], aapl["low"], aapl["close"]) == (
        "150.10",  # t4, 14:00, the earliest although fourth in the file
        "151.50",
        "149.25",
        "149.75",  # t5: same time as t3, later in the file
    )
    assert aapl["first_trade_at"] == "2025-01-20T14:00:00.000000Z"
    assert aapl["last_trade_at"] == "2025-01-20T15:05:00.000000Z"
    assert aapl["buy_volume"] == 100 + 50
    assert aapl["sell_volume"] == 200 + 200 + 10
    assert aapl["largest_trade"] == {
        "trade_id": "t2",
        "price": "151.50",
        "quantity": 200,
        "timestamp": "2025-01-20T14:45:10.500000Z",
    }
    assert aapl["volume_by_hour"] == hourly(h14=100 + 200 + 200, h15=50 + 10)


def test_msft_by_hand(result):
    msft = result["tickers"]["MSFT"]
    # 400.0001 * 3 + 399.99 * 7 = 1200.0003 + 2799.93 = 3999.9303; / 10 = 399.99303
    assert msft["notional"] == "3999.9303"
    assert msft["vwap"] == "399.993030"
    assert (msft["open"], msft["high"], msft["low"], msft["close"]) == (
        "400.0001",
        "400.0001",
        "399.99",
        "399.99",
    )
    assert (msft["buy_volume"], msft["sell_volume"]) == (3, 7)
    assert msft["largest_trade"]["trade_id"] == "m2"
    assert msft["volume_by_hour"] == hourly(h00=3, h23=7)


def test_day_totals(result):
    assert result["date"] == DAY
    assert result["total_trades"] == 7
    assert result["total_volume"] == 570
    assert result["total_notional"] == "88279.9303"  # 84280.00 + 3999.9303
    assert result["ticker_count"] == 2
    assert [t["ticker"] for t in result["most_traded"]] == ["AAPL", "MSFT"]
    assert result["most_traded"][0] == {
        "ticker": "AAPL",
        "volume": 560,
        "trades": 5,
        "notional": "84280.00",
    }
    assert result["malformed_rows"] == 0
    assert result["malformed_samples"] == []
    assert result["rows_read"] == 7


def test_most_traded_is_top_five_by_volume_ties_by_name():
    volumes = {"AAA": 10, "BBB": 70, "CCC": 30, "DDD": 30, "EEE": 50, "FFF": 5, "GGG": 60}
    rows = [
        trade_line(i, "2025-01-20T15:00:00.000000Z", ticker, "buy", "1.00", qty)
        for i, (ticker, qty) in enumerate(volumes.items())
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    assert [(t["ticker"], t["volume"]) for t in result["most_traded"]] == [
        ("BBB", 70),
        ("GGG", 60),
        ("EEE", 50),
        ("CCC", 30),
        ("DDD", 30),
    ]
    assert result["ticker_count"] == 7


def test_money_is_exact_where_floats_are_not():
    # 0.1 + 0.2 in floats is 0.30000000000000004; a million trades of 0.01 must be 10000.00.
    rows = [
        trade_line(1, "2025-01-20T15:00:00.000000Z", "X", "buy", "0.1", 1),
        trade_line(2, "2025-01-20T15:00:00.000000Z", "X", "buy", "0.2", 1),
        trade_line(3, "2025-01-20T15:00:00.000000Z", "Y", "buy", "0.01", 1_000_000),
        trade_line(4, "2025-01-20T15:00:00.000000Z", "Z", "sell", "999999999999.999999", 999),
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    assert result["tickers"]["X"]["notional"] == "0.3"
    assert result["tickers"]["X"]["vwap"] == "0.150000"
    assert result["tickers"]["Y"]["notional"] == "10000.00"
    assert result["tickers"]["Z"]["notional"] == "998999999999999.999001"
    assert result["tickers"]["Z"]["vwap"] == "999999999999.999999"


def test_vwap_rounds_half_even_to_six_places():
    # (1.00 * 1 + 1.01 * 2) / 3 = 1.00666...
    rows = [
        trade_line(1, "2025-01-20T15:00:00.000000Z", "X", "buy", "1.00", 1),
        trade_line(2, "2025-01-20T15:00:01.000000Z", "X", "buy", "1.01", 2),
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    assert result["tickers"]["X"]["vwap"] == "1.006667"


def test_header_only_is_an_empty_day():
    result = analyze_lines([HEADER_LINE], day=DAY)
    assert result["total_trades"] == 0
    assert result["total_notional"] == "0"
    assert result["tickers"] == {}
    assert result["most_traded"] == []


@pytest.mark.parametrize(
    "lines",
    [[], [""], ["a,b,c", trade_line(1, "2025-01-20T15:00:00.000000Z", "X", "buy", "1", 1)]],
    ids=["empty", "blank", "wrong-header"],
)
def test_not_a_trade_csv_raises(lines):
    with pytest.raises(TradeCsvError):
        analyze_lines(lines, day=DAY)


def test_header_with_bom_crlf_and_spaces_is_accepted():
    header = "\ufeff" + " , ".join(HEADER_LINE.split(",")) + "\r"
    row = trade_line(1, "2025-01-20T15:00:00.000000Z", "X", "buy", "2.50", 4) + "\r"
    result = analyze_lines([header, row], day=DAY)
    assert result["tickers"]["X"]["notional"] == "10.00"


def test_day_may_be_a_date_or_datetime():
    rows = [HEADER_LINE, trade_line(1, "2025-01-20T15:00:00.000000Z", "X", "buy", "1", 1)]
    for day in (date(2025, 1, 20), datetime(2025, 1, 20, 23, 59)):
        assert analyze_lines(rows, day=day)["total_trades"] == 1


def test_vwap_keeps_every_digit_of_the_largest_prices():
    # 27 significant digits: more than a default-context quantize would allow without care.
    rows = [
        trade_line(1, "2025-01-20T15:00:00.000000Z", "X", "buy", "999999999999999.999999999999", 1),
        trade_line(2, "2025-01-20T15:00:00.000000Z", "X", "buy", "999999999999999.999999999998", 1),
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    assert result["tickers"]["X"]["vwap"] == "999999999999999.999999999998"  # ...9985, half-even


def test_day_defaults_to_the_first_valid_row():
    rows = [
        trade_line(1, "garbage", "X", "buy", "1", 1),
        trade_line(2, "2025-03-04T10:00:00.000000Z", "X", "buy", "1", 1),
        trade_line(3, "2025-03-05T10:00:00.000000Z", "X", "buy", "1", 1),
    ]
    result = analyze_lines([HEADER_LINE, *rows])
    assert result["date"] == "2025-03-04"
    assert result["total_trades"] == 1
    assert result["malformed_rows"] == 2
