"""The str.split fast path reads exactly what the csv module reads.

Rows without quotes, CR or LF go through str.split; the same rows with CRLF endings (which the
csv module strips) must go through the csv module and give the same analysis, malformed-row
report and line numbers included. A quote in a later batch switches to the csv module there.
"""

from __future__ import annotations

from unittest import mock

import trade_stats
from hypothesis import given, settings
from hypothesis import strategies as st
from trade_analyzer import analyze_lines

from tests.support.trade_csv import HEADER_LINE, trade_line

DAY = "2025-01-20"

good_rows = st.builds(
    trade_line,
    st.integers(1, 10**6),
    st.sampled_from(
        ["2025-01-20T15:00:00.000000Z", "2025-01-20T15:00:01.500000Z", "2025-01-20T09:30:00Z"]
    ),
    st.sampled_from(["AAPL", "MSFT", "X"]),
    st.sampled_from(["buy", "sell", "SELL"]),
    st.sampled_from(["100.00", "99.5", "0.01", "abc"]),
    st.sampled_from([1, 10, 250, 0]),
)
odd_rows = st.sampled_from(["", "1,2,3", " ", ",,,,,,,,", "a,b,c,d,e,f,g,h,i,j"])
lines = st.lists(st.one_of(good_rows, good_rows, odd_rows), max_size=40)


@settings(max_examples=150, deadline=None)
@given(rows=lines, batch=st.integers(1, 8))
def test_split_path_equals_csv_path(rows, batch):
    with mock.patch.object(trade_stats, "PLAIN_BATCH_LINES", batch):
        plain = analyze_lines([HEADER_LINE, *rows], day=DAY)
        crlf = analyze_lines([HEADER_LINE + "\r", *(r + "\r" for r in rows)], day=DAY)
    assert plain == crlf


def test_a_quote_in_a_later_batch_switches_to_csv_for_the_rest():
    ts = "2025-01-20T15:00:00.000000Z"
    rows = [trade_line(n, ts, "AAPL", "buy", "10.00", 1) for n in range(10)]
    quoted = trade_line(10, ts, "AAPL", "buy", "10.00", 5, account='"x,\ny"')
    with mock.patch.object(trade_stats, "PLAIN_BATCH_LINES", 4):
        # The quoted account spans two lines: read as one row, the file's 13th and 14th lines.
        result = analyze_lines([HEADER_LINE, *rows, *quoted.split("\n"), "1,2"], day=DAY)
    assert result["malformed_samples"] == [{"line": 14, "reason": "expected 9 columns, got 2"}]
    assert result["tickers"]["AAPL"]["volume"] == 15  # 10 x 1, then the quoted row's 5
    assert result["tickers"]["AAPL"]["largest_trade"]["trade_id"] == "10"
