"""The fast, cache-driven analysis against a slow, obvious one (Decimal and datetime per row).

Hypothesis writes the rows: valid ones in every accepted spelling (so some take the fast path,
some the slow one), repeated timestamps (ties), and sometimes tiny cache and price-table limits
so that folding and the cache-full path run too.
"""

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from unittest import mock

import trade_stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trade_analyzer import analyze_lines

from tests.support.trade_csv import HEADER_LINE, generate_lines, trade_line

DAY = date(2025, 1, 20)
MIDNIGHT = datetime(2025, 1, 20, tzinfo=UTC)


def reference(rows: list[tuple[str, str, str, str, str, str]]) -> dict:
    """Per-ticker figures the slow, obvious way. rows: (id, timestamp, ticker, side, price, qty)."""
    trades: dict[str, list] = {}
    places = 0
    for index, (trade_id, ts, ticker, side, price, qty) in enumerate(rows):
        moment = datetime.fromisoformat(ts)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        value = Decimal(price)
        places = max(places, -value.as_tuple().exponent)
        trades.setdefault(ticker, []).append(
            (moment, index, value, int(qty), side.lower(), trade_id, price)
        )
    out = {}
    with decimal.localcontext(decimal.Context(prec=200)):
        for ticker, items in trades.items():
            in_time = sorted(items, key=lambda t: (t[0], t[1]))
            volume = sum(t[3] for t in items)
            notional = sum(t[2] * t[3] for t in items)
            largest = min(items, key=lambda t: (-t[3], t[1]))
            hours = [0] * 24
            for t in items:
                hours[t[0].hour] += t[3]
            out[ticker] = {
                "trades": len(items),
                "volume": volume,
                "notional": notional,
                "vwap": (notional / volume).quantize(Decimal(1).scaleb(-max(6, places))),
                "open": in_time[0][6],
                "close": in_time[-1][6],
                "high": max(t[2] for t in items),
                "low": min(t[2] for t in items),
                "first": in_time[0][0],
                "last": in_time[-1][0],
                "buy": sum(t[3] for t in items if t[4] == "buy"),
                "sell": sum(t[3] for t in items if t[4] == "sell"),
                "largest": (largest[5], largest[6], largest[3]),
                "hours": hours,
            }
    return out


def assert_matches(result: dict, expected: dict) -> None:
    assert set(result["tickers"]) == set(expected)
    for ticker, want in expected.items():
        got = result["tickers"][ticker]
        assert got["trades"] == want["trades"], ticker
        assert got["volume"] == want["volume"], ticker
        assert Decimal(got["notional"]) == want["notional"], ticker
        assert Decimal(got["vwap"]) == want["vwap"], ticker
        assert (got["open"], got["close"]) == (want["open"], want["close"]), ticker
        assert Decimal(got["high"]) == want["high"], ticker
        assert Decimal(got["low"]) == want["low"], ticker
        assert datetime.fromisoformat(got["first_trade_at"]) == want["first"], ticker
        assert datetime.fromisoformat(got["last_trade_at"]) == want["last"], ticker
        assert (got["buy_volume"], got["sell_volume"]) == (want["buy"], want["sell"]), ticker
        largest = got["largest_trade"]
        assert (largest["trade_id"], largest["price"], largest["quantity"]) == want["largest"]
        assert [got["volume_by_hour"][f"{h:02d}"] for h in range(24)] == want["hours"], ticker
    assert result["total_trades"] == sum(w["trades"] for w in expected.values())
    assert result["total_volume"] == sum(w["volume"] for w in expected.values())
    assert Decimal(result["total_notional"]) == sum(w["notional"] for w in expected.values())


def spell_timestamp(moment: datetime, style: int) -> str:
    """The same instant written the ways the analysis accepts."""
    if style == 0 or (style == 1 and moment.microsecond):
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # canonical
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 2:
        return moment.isoformat()  # +00:00
    if style == 3:
        return moment.astimezone(NEW_YORK_WINTER).isoformat()
    return moment.replace(tzinfo=None).isoformat(sep=" ")  # naive: taken as UTC


NEW_YORK_WINTER = timezone(timedelta(hours=-5))

moments = st.integers(0, 86_400 * 1_000_000 - 1).map(
    lambda us: MIDNIGHT + timedelta(microseconds=us)
)
prices = st.builds(
    lambda units, places: str(Decimal(units).scaleb(-places)),
    st.integers(1, 10**9),
    st.integers(0, 4),
)
row_parts = st.tuples(
    st.sampled_from(["AAPL", "MSFT", "BRK.B"]),
    st.sampled_from(["buy", "sell", "BUY", "Sell"]),
    prices,
    st.integers(1, 10**7).map(str),
    st.integers(0, 4),  # timestamp spelling, mostly canonical below
)


@st.composite
def days(draw):
    pool = draw(st.lists(moments, min_size=1, max_size=8))  # few instants: many ties
    parts = draw(st.lists(row_parts, min_size=1, max_size=60))
    rows = []
    for n, (ticker, side, price, qty, style) in enumerate(parts):
        moment = draw(st.sampled_from(pool)) if n % 2 else draw(moments)
        ts = spell_timestamp(moment, style if style < 3 or n % 3 == 0 else 0)
        rows.append((f"t{n}", ts, ticker, side, price, qty))
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=days(), tiny_caches=st.booleans())
def test_matches_reference(rows, tiny_caches):
    lines = [HEADER_LINE, *(trade_line(*row) for row in rows)]
    limits = (2, 2) if tiny_caches else (trade_stats.PRICE_TABLE_LIMIT, trade_stats.QTY_CACHE_LIMIT)
    with (
        mock.patch.object(trade_stats, "PRICE_TABLE_LIMIT", limits[0]),
        mock.patch.object(trade_stats, "QTY_CACHE_LIMIT", limits[1]),
    ):
        result = analyze_lines(lines, day=DAY)
    assert result["malformed_rows"] == 0
    assert_matches(result, reference(rows))


def test_generated_day_matches_reference():
    """A realistic day of 20,000 rows, almost all on the fast path."""
    lines = list(generate_lines(20_000, DAY, seed=7))
    rows = [tuple(line.rstrip("\n").split(",")[:6]) for line in lines[1:]]
    result = analyze_lines(lines, day=DAY)
    assert result["malformed_rows"] == 0
    assert_matches(result, reference(rows))


def test_fast_and_slow_paths_agree():
    """The same trades, once canonical (fast path) and once with +00:00 (slow path only)."""
    lines = list(generate_lines(3_000, DAY, seed=3))
    slow = [lines[0]] + [line.replace("Z,", "+00:00,", 1) for line in lines[1:]]
    assert slow[1] != lines[1]
    assert analyze_lines(lines, day=DAY) == analyze_lines(slow, day=DAY)
