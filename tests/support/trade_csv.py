"""Synthetic trade CSVs in the export format (docs/architecture.md, "Trade CSV").

Shaped like a real session so benchmarks measure something meaningful: timestamps in order
through the US session (14:30-21:00 UTC), a few busy tickers and a long tail, prices on a 0.01
grid doing a random walk, mostly round-lot quantities with some odd lots.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

HEADER_LINE = "trade_id,timestamp,ticker,side,price,quantity,account,order_id,source"

TICKERS = (
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM", "V", "WMT",
    "XOM", "KO", "PEP", "DIS", "NFLX", "INTC", "AMD", "IBM", "ORCL", "CSCO",
)  # fmt: skip
_SESSION_START_US = (14 * 3600 + 30 * 60) * 1_000_000
_SESSION_US = int(6.5 * 3600 * 1_000_000)
_LOTS = (1, 5, 10, 25, 50, 100, 100, 100, 200, 200, 300, 500, 1000, 2500)


def trade_line(
    trade_id: object,
    timestamp: str,
    ticker: str,
    side: str,
    price: str,
    quantity: object,
    account: object = 1,
    order_id: str = "",
    source: str = "exchange",
) -> str:
    """One CSV line (no line end) with the columns in export order."""
    return (
        f"{trade_id},{timestamp},{ticker},{side},{price},{quantity},{account},{order_id},{source}"
    )


def generate_lines(rows: int, day: date, seed: int = 1) -> Iterator[str]:
    """Yield the header and `rows` trade lines, each ending in "\\n"."""
    rnd = random.Random(seed)
    weights = [1.0 / (rank + 1) for rank in range(len(TICKERS))]  # Zipf-like activity
    mids = {t: rnd.randint(2_000, 60_000) for t in TICKERS}  # cents
    prefix = day.isoformat()
    yield HEADER_LINE + "\n"
    picks = rnd.choices(TICKERS, weights, k=rows)
    for n, ticker in enumerate(picks):
        micros = _SESSION_START_US + _SESSION_US * n // max(rows, 1)
        seconds, micro = divmod(micros, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        mid = mids[ticker] = max(100, mids[ticker] + rnd.randint(-3, 3))
        cents = mid + rnd.randint(-2, 2)
        quantity = rnd.choice(_LOTS) if rnd.random() < 0.9 else rnd.randint(1, 3000)
        side = "buy" if rnd.random() < 0.5 else "sell"
        yield (
            f"{n + 1},{prefix}T{hour:02d}:{minute:02d}:{second:02d}.{micro:06d}Z,{ticker},{side},"
            f"{cents // 100}.{cents % 100:02d},{quantity},{rnd.randint(1, 500)},"
            f"{rnd.getrandbits(128):032x},exchange\n"
        )


def trades_csv_bytes(rows: int, day: date, seed: int = 1) -> bytes:
    """The whole CSV as UTF-8 bytes (about 100 bytes per row)."""
    return "".join(generate_lines(rows, day, seed)).encode()
