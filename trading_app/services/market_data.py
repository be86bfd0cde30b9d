"""The latest quote per symbol, as 000's market data call returns it.

Producers write quotes to the cache; readers never wait on a producer (nor on Yahoo):
- the matching worker writes the exchange's quote under `quote:<SYMBOL>` (last trade, bid, ask);
- the price feed (trading_app.market_data) writes its last tick under `feed_quote:<SYMBOL>`.
The exchange's quote wins once the symbol has traded; before that the feed's price answers (with
the exchange's bid and ask when its book has orders). Before any producer has spoken, the
instrument's last trade or reference price answers, labelled as such.
"""

from collections.abc import Iterable

from django.core.cache import cache
from django.utils import timezone

from trading_app.models import Instrument
from trading_app.money import format_price

QUOTE_KEY = "quote:{}"
FEED_QUOTE_KEY = "feed_quote:{}"
FEED_STATUS_KEY = "feed:status"


def quote_key(symbol: str) -> str:
    """The exchange's quote (written by the matching worker)."""
    return QUOTE_KEY.format(symbol)


def feed_quote_key(symbol: str) -> str:
    """The price feed's last tick as a quote (written by trading_app.market_data)."""
    return FEED_QUOTE_KEY.format(symbol)


def publish_quote(symbol: str, quote: dict, ttl: int | None = 300) -> None:
    cache.set(quote_key(symbol), quote, ttl)


def choose_quote(exchange: dict | None, feed: dict | None) -> dict | None:
    """The exchange's quote if it has a last price, else the feed's, with the book's bid/ask."""
    if exchange and exchange.get("price") is not None:
        return exchange
    if feed is None:
        return None
    if exchange and feed.get("bid") is None and feed.get("ask") is None:
        return {**feed, "bid": exchange.get("bid"), "ask": exchange.get("ask")}
    return feed


def latest_quotes(symbols: Iterable[str]) -> dict[str, dict]:
    wanted = [s.strip().upper() for s in symbols]
    instruments = {i.symbol: i for i in Instrument.objects.filter(symbol__in=wanted)}
    # only known symbols become cache keys: anything a client typed is not a key to look up
    cached = cache.get_many(
        [quote_key(s) for s in instruments] + [feed_quote_key(s) for s in instruments]
    )
    result: dict[str, dict] = {}
    for symbol in wanted:
        instrument = instruments.get(symbol)
        if instrument is None:
            result[symbol] = {"error": f"unknown symbol {symbol!r}"}
            continue
        exchange = cached.get(quote_key(symbol))
        quote = choose_quote(exchange, cached.get(feed_quote_key(symbol)))
        if quote is None:
            price = instrument.mark_price
            quote = {
                "symbol": symbol,
                "price": format_price(price),
                "bid": exchange.get("bid") if exchange else None,
                "ask": exchange.get("ask") if exchange else None,
                "volume": 0,
                "timestamp": (instrument.last_trade_at or timezone.now()).isoformat(),
                "source": "last_trade" if instrument.last_price is not None else "reference",
            }
        result[symbol] = quote
    return result
