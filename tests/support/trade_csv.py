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
    """Yield the header and `rows` trade lines, each ending in "\\n".

    Random draws are made in bulk (random.choices) so a million rows take seconds, not minutes.
    """
    rnd = random.Random(seed)
    activity = [1.0 / (rank + 1) for rank in range(len(TICKERS))]  # Zipf-like
    mids = {t: rnd.randint(2_000, 60_000) for t in TICKERS}  # cents
    qty_population = [*_LOTS, *range(1, 3001)]  # 90% round lots, 10% odd lots
    qty_weights = [0.9 / len(_LOTS)] * len(_LOTS) + [0.1 / 3000] * 3000
    columns = zip(
        rnd.choices(TICKERS, activity, k=rows),
        rnd.choices(range(-3, 4), k=rows),  # mid-price step, cents
        rnd.choices(range(-2, 3), k=rows),  # trade price around the mid
        rnd.choices(qty_population, qty_weights, k=rows),
        rnd.choices(("buy", "sell"), k=rows),
        rnd.choices(range(1, 501), k=rows),
        strict=True,
    )
    prefix = day.isoformat()
    second_text, last_second = "", -1
    yield HEADER_LINE + "\n"
    for n, (ticker, step, spread, quantity, side, account) in enumerate(columns, 1):
        seconds, micro = divmod(_SESSION_START_US + _SESSION_US * n // (rows + 1), 1_000_000)
        if seconds != last_second:  # format date and time once per second, not once per row
            hour, minute, second = seconds // 3600, seconds // 60 % 60, seconds % 60
            second_text = f"{prefix}T{hour:02d}:{minute:02d}:{second:02d}."
            last_second = seconds
        mid = mids[ticker] = max(100, mids[ticker] + step)
        cents = mid + spread
        yield (
            f"{n},{second_text}{micro:06d}Z,{ticker},{side},{cents // 100}.{cents % 100:02d},"
            f"{quantity},{account},{rnd.getrandbits(128):032x},exchange\n"
        )


def trades_csv_bytes(rows: int, day: date, seed: int = 1) -> bytes:
    """The whole CSV as UTF-8 bytes (about 100 bytes per row)."""
    return "".join(generate_lines(rows, day, seed)).encode()
