"""The latest quote per symbol, as 000's market data call returns it.

Producers (the matching worker, the price feed) write quotes to the cache under `quote:<SYMBOL>`;
readers never wait on a producer. Before any producer has spoken, the instrument's last trade or
reference price answers, labelled as such.
"""

from collections.abc import Iterable

from django.core.cache import cache
from django.utils import timezone

from trading_app.models import Instrument

QUOTE_KEY = "quote:{}"


def quote_key(symbol: str) -> str:
    return QUOTE_KEY.format(symbol)


def publish_quote(symbol: str, quote: dict, ttl: int | None = 300) -> None:
    cache.set(quote_key(symbol), quote, ttl)


def latest_quotes(symbols: Iterable[str]) -> dict[str, dict]:
    wanted = [s.strip().upper() for s in symbols]
    cached = cache.get_many([quote_key(s) for s in wanted])
    instruments = {i.symbol: i for i in Instrument.objects.filter(symbol__in=wanted)}
    result: dict[str, dict] = {}
    for symbol in wanted:
        instrument = instruments.get(symbol)
        if instrument is None:
            result[symbol] = {"error": f"unknown symbol {symbol!r}"}
            continue
        quote = cached.get(quote_key(symbol))
        if quote is None:
            price = instrument.mark_price
            quote = {
                "symbol": symbol,
                "price": str(price) if price is not None else None,
                "bid": None,
                "ask": None,
                "volume": 0,
                "timestamp": (instrument.last_trade_at or timezone.now()).isoformat(),
                "source": "last_trade" if instrument.last_price is not None else "reference",
            }
        result[symbol] = quote
    return result
