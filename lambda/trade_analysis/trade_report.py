"""Turn accumulated DayStats into the JSON-ready analysis dict.

Runs once per file, so it favours clarity over speed. Money is Decimal throughout and rendered as
plain strings (never floats, never exponent notation); counts and volumes are ints.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from trade_stats import EXACT, DayStats, TickerStats

TOP_TICKERS = 5
VWAP_MIN_PLACES = 6  # VWAP is a ratio: rounded (half-even) to max(6, decimals of any price)
_DIVIDE = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)


def money(value: Decimal) -> str:
    """Render a Decimal as a plain string: format 'f' never switches to 1E+3 notation."""
    return format(value, "f")


def build_report(stats: DayStats, top: int = TOP_TICKERS) -> dict[str, Any]:
    """Return the analysis of the whole day: per-ticker figures, totals, malformed rows."""
    vwap_places = max(VWAP_MIN_PLACES, stats.price_places)
    tickers: dict[str, dict[str, Any]] = {}
    total_notional = Decimal(0)
    for name in sorted(stats.tickers):
        figures = _ticker_report(stats.tickers[name], vwap_places)
        tickers[name] = figures
        total_notional = EXACT.add(total_notional, Decimal(figures["notional"]))
    ranked = sorted(tickers.items(), key=lambda item: (-item[1]["volume"], item[0]))
    total_trades = sum(t["trades"] for t in tickers.values())
    return {
        "date": stats.day,
        "total_trades": total_trades,
        "total_volume": sum(t["volume"] for t in tickers.values()),
        "total_notional": money(total_notional),
        "ticker_count": len(tickers),
        "most_traded": [
            {
                "ticker": name,
                "volume": t["volume"],
                "trades": t["trades"],
                "notional": t["notional"],
            }
            for name, t in ranked[:top]
        ],
        "tickers": tickers,
        "rows_read": total_trades + stats.malformed,
        "malformed_rows": stats.malformed,
        "malformed_samples": list(stats.samples),
    }


def _ticker_report(st: TickerStats, vwap_places: int) -> dict[str, Any]:
    notional, high, low = st.price_summary()
    buckets = st.buckets
    buy_volume = sum(buckets[0::2])
    sell_volume = sum(buckets[1::2])
    volume = buy_volume + sell_volume
    vwap = _DIVIDE.divide(notional, Decimal(volume)).quantize(
        Decimal(1).scaleb(-vwap_places), rounding=decimal.ROUND_HALF_EVEN, context=_DIVIDE
    )
    assert st.open_row and st.close_row and st.max_row  # a ticker exists only with a trade
    return {
        "trades": st.count,
        "volume": volume,
        "notional": money(notional),
        "vwap": money(vwap),
        "open": st.open_row[4],
        "high": money(high),
        "low": money(low),
        "close": st.close_row[4],
        "first_trade_at": st.open_ts,
        "last_trade_at": st.close_ts,
        "buy_volume": buy_volume,
        "sell_volume": sell_volume,
        "largest_trade": {
            "trade_id": st.max_row[0],
            "price": st.max_row[4],
            "quantity": st.max_qty,
            "timestamp": st.max_ts,
        },
        "volume_by_hour": {
            f"{hour:02d}": buckets[2 * hour] + buckets[2 * hour + 1] for hour in range(24)
        },
    }
