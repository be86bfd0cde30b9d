"""The values that travel between providers, the feed and the publisher.

Prices are Decimal from the moment a provider hands them over: floats (GBM state, pandas frames)
stay inside the provider that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from trading_app.money import format_price


class ProviderError(Exception):
    """A provider could not answer (network down, empty data, timeout): the feed fails over."""


def to_decimal(value: object) -> Decimal | None:
    """A Decimal from a provider's number (float, str, Decimal); None if it is not a number."""
    if value is None:
        return None
    try:
        # str() first: Decimal(0.1) would keep the float's binary noise.
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def quantize_to_tick(price: Decimal, tick_size: Decimal) -> Decimal:
    """Round to the nearest multiple of the tick (half-even), written with the tick's places.

    The database stores 0.010000 for a cent: the result keeps 2 places, not 6.
    """
    steps = (price / tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
    places = min(tick_size.normalize().as_tuple().exponent, 0)
    return (steps * tick_size).quantize(Decimal(1).scaleb(places))


def parse_timestamp(value: str | datetime) -> datetime:
    """An aware UTC datetime from an ISO string or a datetime (naive is taken as UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Tick:
    """One price observation. `volume` is the size of this tick, not a running total."""

    symbol: str
    price: Decimal
    timestamp: datetime
    source: str
    volume: int = 0
    bid: Decimal | None = None
    ask: Decimal | None = None

    def message(self) -> dict:
        """The `price.tick` message of the price stream contract (strings for money)."""
        return {
            "type": "price.tick",
            "symbol": self.symbol,
            "price": format_price(self.price),
            "timestamp": self.timestamp.isoformat(),
            "volume": self.volume,
            "source": self.source,
        }

    def quote(self, total_volume: int) -> dict:
        """The cached quote (`POST /api/market-data/` shape); volume is the feed's running total."""
        return {
            "symbol": self.symbol,
            "price": format_price(self.price),
            "bid": format_price(self.bid),
            "ask": format_price(self.ask),
            "volume": total_volume,
            "timestamp": self.timestamp.isoformat(),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Bar:
    """One historical OHLCV bar."""

    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    def as_dict(self) -> dict:
        return {
            "timestamp": self.timestamp.isoformat(),
            "open": format_price(self.open),
            "high": format_price(self.high),
            "low": format_price(self.low),
            "close": format_price(self.close),
            "volume": self.volume,
        }
