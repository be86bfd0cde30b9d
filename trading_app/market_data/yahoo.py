"""Yahoo Finance through yfinance: live quotes (polled) and historical bars, cached with a TTL.

Offline, `yf.download` returns an empty frame and `Ticker.history` raises or returns an empty
frame: both become a ProviderError with a message that says so, so the failover feed moves on.
Every network call runs in a worker thread with a deadline: a hung connection can neither block
the event loop nor the caller for longer than `timeout`. Results go to Django's cache (Redis when
REDIS_URL is set, else local memory) so that repeated calls within the TTL do not hit Yahoo;
yfinance refuses requests_cache sessions, hence our own cache.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading_app.market_data.base import MarketDataProvider
from trading_app.market_data.ticks import Bar, ProviderError, Tick, parse_timestamp

log = logging.getLogger("tradingsim.feed.yfinance")

# A few threads are enough: calls are rare (TTL cache) and a hung one only occupies its thread.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="yfinance")

QUOTE_KEY = "yf:quote:{}"
BARS_KEY = "yf:bars:{}:{}:{}:{}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _price(value: float) -> Decimal:
    # Yahoo's floats carry binary noise (189.97999572753906): 4 places keep every real tick.
    return Decimal(repr(round(value, 4)))


def _column(frame: Any, field: str, symbol: str, single: bool) -> Any:
    """One field of one ticker from a download frame (multi-level columns or a flat frame)."""
    columns = frame.columns
    if getattr(columns, "nlevels", 1) > 1:
        if (field, symbol) in columns:
            return frame[(field, symbol)]
        return None
    return frame[field] if single and field in columns else None


class YFinanceProvider(MarketDataProvider):
    """Live quotes from the last 1-minute bar of the day, and daily/intraday history."""

    name = "yfinance"

    def __init__(
        self,
        *,
        interval: float = 15.0,
        timeout: float = 10.0,
        cache_ttl: int = 5,
        history_ttl: int = 3600,
        cache: Any = None,
    ) -> None:
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.interval = interval
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self.history_ttl = history_ttl
        self.cache = cache
        self.network_calls = 0
        self._emitted: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------------------ plumbing

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a yfinance call in a thread with a deadline; any failure is a ProviderError."""
        self.network_calls += 1
        future = _executor.submit(fn, *args, **kwargs)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            raise ProviderError(
                f"yfinance {what} timed out after {self.timeout:g}s (network unreachable?)"
            ) from None
        except ProviderError:
            raise
        except Exception as exc:  # curl_cffi DNSError, HTTP errors, yfinance's own exceptions
            raise ProviderError(f"yfinance {what} failed: {type(exc).__name__}: {exc}") from exc

    # ------------------------------------------------------------------------------ quotes

    def quotes(self, symbols: Sequence[str]) -> dict[str, dict]:
        """The latest quote of each symbol Yahoo knows: cached ones, then one download for the rest.

        Raises ProviderError if none of the missing symbols could be fetched.
        """
        wanted = [s.upper() for s in symbols]
        keys = {s: QUOTE_KEY.format(s) for s in wanted}
        cached = self.cache.get_many(list(keys.values()))
        result = {s: cached[k] for s, k in keys.items() if k in cached}
        missing = [s for s in wanted if s not in result]
        if missing:
            fresh = self._download_quotes(missing)
            self.cache.set_many({keys[s]: q for s, q in fresh.items()}, self.cache_ttl)
            result.update(fresh)
        return result

    def _download_quotes(self, symbols: list[str]) -> dict[str, dict]:
        import yfinance as yf

        frame = self._call(
            "download",
            yf.download,
            symbols,
            period="1d",
            interval="1m",
            progress=False,
            threads=False,
            auto_adjust=False,
            timeout=self.timeout,
        )
        if frame is None or getattr(frame, "empty", True):
            raise ProviderError(
                f"yfinance returned no data for {', '.join(symbols)} (network unavailable?)"
            )
        quotes: dict[str, dict] = {}
        for symbol in symbols:
            closes = _column(frame, "Close", symbol, len(symbols) == 1)
            if closes is None:
                continue
            closes = closes.dropna()
            if closes.empty:
                continue
            at = closes.index[-1]
            close = _number(closes.iloc[-1])
            if close is None:
                continue
            volumes = _column(frame, "Volume", symbol, len(symbols) == 1)
            volume = _number(volumes.get(at)) if volumes is not None else None
            quotes[symbol] = {
                "symbol": symbol,
                "price": str(_price(close)),
                "volume": int(volume or 0),
                "timestamp": parse_timestamp(at.to_pydatetime()).isoformat(),
            }
        if not quotes:
            raise ProviderError(f"yfinance returned no prices for {', '.join(symbols)}")
        absent = sorted(set(symbols) - set(quotes))
        if absent:
            log.warning("yfinance has no price for %s", ", ".join(absent))
        return quotes

    async def fetch(self, symbols: Sequence[str]) -> list[Tick]:
        """New ticks only: a quote identical to the last one emitted is not a tick."""
        quotes = await asyncio.to_thread(self.quotes, symbols)
        ticks = []
        for symbol, quote in quotes.items():
            key = (quote["timestamp"], quote["price"])
            if self._emitted.get(symbol) == key:
                continue
            self._emitted[symbol] = key
            ticks.append(
                Tick(
                    symbol=symbol,
                    price=Decimal(quote["price"]),
                    timestamp=parse_timestamp(quote["timestamp"]),
                    source=self.name,
                    volume=int(quote.get("volume") or 0),
                )
            )
        return ticks

    # ------------------------------------------------------------------------------ history

    def bars(self, symbol: str, start: datetime, end: datetime, interval: str = "1d") -> list[Bar]:
        """Historical OHLCV bars, cached for `history_ttl` seconds."""
        symbol = symbol.upper()
        key = BARS_KEY.format(symbol, start.date(), end.date(), interval)
        rows = self.cache.get(key)
        if rows is None:
            rows = self._download_bars(symbol, start, end, interval)
            self.cache.set(key, rows, self.history_ttl)
        return [
            Bar(
                timestamp=parse_timestamp(r["timestamp"]),
                open=Decimal(r["open"]),
                high=Decimal(r["high"]),
                low=Decimal(r["low"]),
                close=Decimal(r["close"]),
                volume=r["volume"],
            )
            for r in rows
        ]

    def _download_bars(
        self, symbol: str, start: datetime, end: datetime, interval: str
    ) -> list[dict]:
        import yfinance as yf

        frame = self._call(
            "history",
            lambda: yf.Ticker(symbol).history(
                start=start,
                end=end,
                interval=interval,
                auto_adjust=False,
                timeout=self.timeout,
                raise_errors=True,
            ),
        )
        if frame is None or getattr(frame, "empty", True):
            raise ProviderError(f"yfinance returned no bars for {symbol} (network unavailable?)")
        rows = []
        for at, row in frame.iterrows():
            values = [_number(row.get(f)) for f in ("Open", "High", "Low", "Close")]
            if any(v is None for v in values):
                continue
            rows.append(
                {
                    "timestamp": parse_timestamp(at.to_pydatetime()).isoformat(),
                    "open": str(_price(values[0])),
                    "high": str(_price(values[1])),
                    "low": str(_price(values[2])),
                    "close": str(_price(values[3])),
                    "volume": int(_number(row.get("Volume")) or 0),
                }
            )
        if not rows:
            raise ProviderError(f"yfinance returned no usable bars for {symbol}")
        return rows

    async def history(
        self, symbol: str, start: datetime, end: datetime, interval: str = "1d"
    ) -> list[Bar]:
        return await asyncio.to_thread(self.bars, symbol, start, end, interval)
