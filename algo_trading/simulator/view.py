"""What the agents know about one symbol's market, from ``market.update`` messages."""

from __future__ import annotations

from collections import deque
from decimal import Decimal, InvalidOperation

from ..live.orders import InstrumentSpec


def _price(value: object) -> Decimal | None:
    try:
        out = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return out if out.is_finite() and out > 0 else None


class MarketView:
    """Last trade, best bid/ask and recent trades of one symbol."""

    def __init__(self, spec: InstrumentSpec, window: float = 60.0) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.last: Decimal | None = None
        self.bid: Decimal | None = None
        self.ask: Decimal | None = None
        self.trades = 0
        self.window = window
        self.recent: deque[tuple[float, float]] = deque()  # (monotonic time, price)

    @property
    def reference(self) -> Decimal | None:
        """The price the exchange's risk collar measures limits against: the last trade,
        else the instrument's reference price."""
        return self.last if self.last is not None else self.spec.reference_price

    def mid(self) -> Decimal | None:
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.reference

    def apply(self, message: dict, now: float) -> None:
        quote = message.get("quote") or {}
        if "bid" in quote:
            self.bid = _price(quote.get("bid"))
        if "ask" in quote:
            self.ask = _price(quote.get("ask"))
        for trade in message.get("trades") or ():
            price = _price(trade.get("price"))
            if price is None:
                continue
            self.last = price
            self.trades += 1
            self.recent.append((now, float(price)))
        cutoff = now - self.window
        while self.recent and self.recent[0][0] < cutoff:
            self.recent.popleft()

    def change_since(self, seconds: float, now: float) -> float | None:
        """Relative change of the trade price over the last ``seconds`` (None if unknown)."""
        if len(self.recent) < 2:
            return None
        start = None
        for when, price in self.recent:
            if when >= now - seconds:
                start = price
                break
        if start is None or start <= 0:
            return None
        return self.recent[-1][1] / start - 1.0
