"""Bad rows are counted and reported with line numbers, never fatal; odd but valid rows count."""

from __future__ import annotations

import pytest
from trade_analyzer import TradeCsvError, analyze_lines
from trade_stats import MAX_SAMPLES

from tests.support.trade_csv import HEADER_LINE, trade_line

DAY = "2025-01-20"
TS = "2025-01-20T15:00:00.000000Z"


def good(n: int, qty: int = 10, ts: str = TS) -> str:
    return trade_line(f"g{n}", ts, "AAPL", "buy", "100.00", qty)


BAD_ROWS = [
    ("1,2,3", "expected 9 columns, got 3"),
    (good(0) + ",extra", "expected 9 columns, got 10"),
    (trade_line("b", TS, "AAPL", "hold", "100.00", 10), "unknown side 'hold'"),
    (trade_line("b", TS, "AAPL", "buy", "abc", 10), "bad price 'abc'"),
    (trade_line("b", TS, "AAPL", "buy", "-1.00", 10), "bad price '-1.00'"),
    (trade_line("b", TS, "AAPL", "buy", "0.00", 10), "price must be positive, got '0.00'"),
    (trade_line("b", TS, "AAPL", "buy", "1e3", 10), "bad price '1e3'"),
    (trade_line("b", TS, "AAPL", "buy", "NaN", 10), "bad price 'NaN'"),
    (trade_line("b", TS, "AAPL", "buy", "", 10), "bad price ''"),
    (trade_line("b", TS, "AAPL", "buy", "100.00", -5), "quantity must be positive, got '-5'"),
    (trade_line("b", TS, "AAPL", "buy", "100.00", 0), "quantity must be positive, got '0'"),
    (trade_line("b", TS, "AAPL", "buy", "100.00", "1.5"), "bad quantity '1.5'"),
    (trade_line("b", TS, "AAPL", "buy", "100.00", ""), "bad quantity ''"),
    (trade_line("b", "yesterday", "AAPL", "buy", "100.00", 1), "bad timestamp 'yesterday'"),
    (
        trade_line("b", "2025-01-20", "AAPL", "buy", "100.00", 1),
        "bad timestamp '2025-01-20': expected date and time",
    ),
    (
        trade_line("b", "2025-01-20T25:00:00.000000Z", "AAPL", "buy", "1", 1),
        "bad timestamp '2025-01-20T25:00:00.000000Z'",
    ),
    (
        trade_line("b", "2025-01-21T00:00:00.000000Z", "AAPL", "buy", "1", 1),
        "timestamp '2025-01-21T00:00:00.000000Z' is not on 2025-01-20 (UTC)",
    ),
    (
        # 2025-01-20 20:00 in New York is 2025-01-21 01:00 UTC: another UTC day.
        trade_line("b", "2025-01-20T20:00:00-05:00", "AAPL", "buy", "1", 1),
        "timestamp '2025-01-20T20:00:00-05:00' is not on 2025-01-20 (UTC)",
    ),
    (trade_line("b", TS, "", "buy", "1", 1), "bad ticker ''"),
    (trade_line("b", TS, "AA PL", "buy", "1", 1), "bad ticker 'AA PL'"),
    (trade_line("b", TS, "AAPL\ufffd", "buy", "1", 1), "bad ticker 'AAPL\ufffd'"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_each_bad_row_is_reported_with_line_and_reason(line, reason):
    # The good rows around it come first so that the caches are warm: the bad row must be
    # caught even when every other field of it is already known to the fast path.
    lines = [HEADER_LINE, good(1), good(2), line, good(3)]
    result = analyze_lines(lines, day=DAY)
    assert result["malformed_rows"] == 1
    assert result["malformed_samples"] == [{"line": 4, "reason": reason}]
    assert result["total_trades"] == 3
    assert result["tickers"]["AAPL"]["volume"] == 30


def test_bad_row_first_in_file_is_reported_too():
    for line, reason in BAD_ROWS:
        result = analyze_lines([HEADER_LINE, line, good(1)], day=DAY)
        assert result["malformed_samples"] == [{"line": 2, "reason": reason}], line
        assert result["total_trades"] == 1


def test_all_bad_rows_counted_first_few_sampled():
    lines = [HEADER_LINE]
    for n, (line, _) in enumerate(BAD_ROWS):
        lines += [good(n), line]
    result = analyze_lines(lines, day=DAY)
    assert result["malformed_rows"] == len(BAD_ROWS)
    assert len(result["malformed_samples"]) == MAX_SAMPLES
    assert [s["line"] for s in result["malformed_samples"]] == [3 + 2 * n for n in range(10)]
    assert result["total_trades"] == len(BAD_ROWS)
    assert result["rows_read"] == 2 * len(BAD_ROWS)


def test_lines_the_csv_module_rejects_are_reported_and_reading_goes_on():
    lines = [HEADER_LINE, good(1), "x\ry,z", good(2), "q," + "w" * 200_000, good(3)]
    result = analyze_lines(lines, day=DAY)
    assert result["total_trades"] == 3
    assert result["malformed_rows"] == 2
    lines_and_reasons = [(s["line"], s["reason"][:40]) for s in result["malformed_samples"]]
    assert lines_and_reasons == [
        (3, "unreadable CSV line: new-line character "),
        (5, "unreadable CSV line: field larger than f"),
    ]


def test_nul_and_quotes_are_data():
    rows = [
        trade_line(1, TS, "AAPL", "buy", "1.00", 1, "acc\x00", '"ord,1"', "manual"),
        trade_line(2, TS, '"AAPL"', "sell", '"2.00"', '"3"'),
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    assert result["malformed_rows"] == 0
    assert result["tickers"]["AAPL"]["notional"] == "7.00"


def test_broken_header_line_is_not_a_trade_csv():
    with pytest.raises(TradeCsvError):
        analyze_lines(["trade_id,times\rtamp"], day=DAY)


def test_blank_lines_are_skipped_not_counted():
    result = analyze_lines([HEADER_LINE, "", good(1), "", "", good(2), ""], day=DAY)
    assert result["malformed_rows"] == 0
    assert result["total_trades"] == 2


def test_other_spellings_of_valid_fields_are_accepted():
    rows = [
        # No fraction, an offset, a naive time (taken as UTC), a space separator:
        trade_line(1, "2025-01-20T14:30:00Z", "AAPL", "buy", "10", 1),
        trade_line(2, "2025-01-20T09:31:00-05:00", "AAPL", "buy", "10", 2),
        trade_line(3, "2025-01-20T14:32:00.5", "AAPL", "BUY", "10", 3),
        trade_line(4, "2025-01-20 14:33:00.250000+00:00", "AAPL", "Sell", "10.000", 4),
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    aapl = result["tickers"]["AAPL"]
    assert result["malformed_rows"] == 0
    assert aapl["volume_by_hour"]["14"] == 10
    assert (aapl["buy_volume"], aapl["sell_volume"]) == (6, 4)
    assert aapl["first_trade_at"] == "2025-01-20T14:30:00.000000Z"
    assert aapl["last_trade_at"] == "2025-01-20T14:33:00.250000Z"
    assert aapl["notional"] == "100.000"


def test_non_canonical_timestamps_order_like_times_not_like_strings():
    # As strings, "...14:30:00Z" sorts after "...14:30:00.500000Z" ('Z' > '.'); as times it
    # is earlier, so it must be the open.
    rows = [
        trade_line(1, "2025-01-20T14:30:00.500000Z", "X", "buy", "2", 1),
        trade_line(2, "2025-01-20T14:30:00Z", "X", "buy", "1", 1),
    ]
    result = analyze_lines([HEADER_LINE, *rows], day=DAY)
    assert result["tickers"]["X"]["open"] == "1"
    assert result["tickers"]["X"]["close"] == "2"
