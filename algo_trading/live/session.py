"""``LiveSession``: channel-layer messages and the clock in, a strategy's hooks out.

It owns no I/O: ``handle(message)`` takes what arrived on the session's channel (execution
reports from ``account.<id>``, ``market.update`` from ``market.<SYMBOL>``, ``price.tick`` from
``prices.<SYMBOL>``), ``on_timer()`` closes bars whose interval ended and resends unacknowledged
orders, and whatever the strategy does comes out as messages through the ``OrderClient``.

The hook order is the backtester's: fills are reported (``on_fill``) as they arrive, always
before the next ``on_bar``; ``on_bar`` sees the history up to and including that bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from trading_app.groups import account_group, market_group, prices_group

from ..history import RingHistory
from ..models import Bar, Fill, Tick
from ..sizing import FractionOfEquity, Sizer
from ..strategy import Strategy
from .bars import BarBuilder
from .broker import LiveBroker
from .orders import OrderEvent

log = logging.getLogger("tradingsim.live")

SOURCES = ("trades", "ticks", "both")
#: a trading year of 6.5-hour sessions, in seconds: annualisation of live bars
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600

Listener = Callable[[str, Any], None]


@dataclass
class SessionStats:
    bars: int = 0
    trades: int = 0
    ticks: int = 0
    fills: int = 0
    rejects: int = 0
    last_reject: str = ""


def _decimal(value: Any) -> Decimal | None:
    try:
        out = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return out if out.is_finite() and out > 0 else None


class LiveSession:
    """One strategy instance trading one symbol live."""

    def __init__(
        self,
        strategy: Strategy,
        broker: LiveBroker,
        *,
        bar_seconds: float = 5.0,
        source: str = "both",
        sizer: Sizer | None = None,
        flatten_on_stop: bool = False,
        clock_ns: Callable[[], int] = time.time_ns,
        listener: Listener | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        self.strategy = strategy
        self.broker = broker
        self.client = broker.client
        self.symbol = broker.symbol
        self.source = source
        self.flatten_on_stop = flatten_on_stop
        self.clock_ns = clock_ns
        self.listener = listener
        self.builder = BarBuilder(bar_seconds)
        self.sizer = sizer or FractionOfEquity(1.0)
        self.sizer.bind(TRADING_SECONDS_PER_YEAR / bar_seconds)
        self.history = RingHistory(max(int(strategy.history_size), self.sizer.window, 1))
        strategy.bind(broker, self.history, self.sizer)
        self.stats = SessionStats()
        self.started = False
        self.stopped = False
        self._exchange_price_seen = False
        self._bid: float | None = None
        self._ask: float | None = None

    # ------------------------------------------------------------------------------ wiring

    @property
    def groups(self) -> list[str]:
        """The channel-layer groups this session must listen to."""
        groups = [account_group(self.client.account_id)]
        if self.source in ("trades", "both"):
            groups.append(market_group(self.symbol))
        if self.source in ("ticks", "both"):
            groups.append(prices_group(self.symbol))
        return groups

    def _emit(self, kind: str, value: Any) -> None:
        if self.listener is not None:
            self.listener(kind, value)

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.started = True
        self.strategy.on_start()

    def stop(self) -> None:
        """``on_stop``, then withdraw resting orders (or flatten, if asked)."""
        if not self.started or self.stopped:
            return
        self.stopped = True
        try:
            self.strategy.on_stop()
        finally:
            if self.flatten_on_stop:
                self.strategy.close()
            else:
                for order in self.broker.open_orders():
                    if order.limit is not None:
                        self.broker.cancel_order(order)

    def has_pending(self) -> bool:
        """Orders not yet closed by the exchange (a stop waits for them, briefly)."""
        return bool(self.client.open_orders(self.symbol))

    # ------------------------------------------------------------------------------ input

    def handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "trade.updates":
            for update in message.get("updates") or ():
                event = self.client.apply(update)
                if event is not None:
                    self._order_event(event)
        elif kind == "market.update" and self.source != "ticks":
            if message.get("symbol") not in (None, self.symbol):
                return
            quote = message.get("quote") or {}
            bid, ask = _decimal(quote.get("bid")), _decimal(quote.get("ask"))
            self._bid = float(bid) if bid is not None else None
            self._ask = float(ask) if ask is not None else None
            for trade in message.get("trades") or ():
                price = _decimal(trade.get("price"))
                if price is None:
                    continue
                self._exchange_price_seen = True
                self.broker.mark(price)
                self.stats.trades += 1
                self._observe(float(price), float(trade.get("qty") or 0))
        elif kind == "price.tick" and self.source != "trades":
            if message.get("symbol") not in (None, self.symbol):
                return
            if message.get("source") == "exchange" and self.source == "both":
                return  # our own trades, republished by a feed: already counted
            price = _decimal(message.get("price"))
            if price is None:
                return
            if not self._exchange_price_seen:
                self.broker.mark(price)
            self.stats.ticks += 1
            self._observe(float(price), 0.0)

    def on_timer(self) -> None:
        """Close the bar whose interval has ended; resend or give up on unacknowledged orders."""
        bar = self.builder.close_due(self.clock_ns())
        if bar is not None:
            self._bar(bar)
        for event in self.client.due():
            self._order_event(event)

    def next_deadline_ns(self) -> int | None:
        return self.builder.next_close_ns()

    # ------------------------------------------------------------------------------ internals

    def _observe(self, price: float, volume: float) -> None:
        now = self.clock_ns()
        closed = self.builder.add(now, price, volume)
        if closed is not None:
            self._bar(closed)
        if self.started and not self.stopped:
            self.strategy.on_tick(Tick(now, price, volume, self._bid, self._ask))

    def _bar(self, bar: Bar) -> None:
        self.stats.bars += 1
        self.history.append(bar)
        if self.started and not self.stopped:
            self.strategy.on_bar(bar)
        self._emit("bar", bar)

    def _order_event(self, event: OrderEvent) -> None:
        fill: Fill | None = self.broker.on_event(event)
        if event.kind == "rejected":
            self.stats.rejects += 1
            self.stats.last_reject = event.reason
            self._emit("reject", event)
        elif event.kind in ("canceled", "expired") and event.reason not in ("", "canceled"):
            self._emit("canceled", event)  # e.g. a market order that met no liquidity
        if fill is not None:
            self.stats.fills += 1
            if self.started and not self.stopped:
                self.strategy.on_fill(fill)
            self._emit("fill", fill)

    def snapshot(self) -> dict[str, Any]:
        """Counters and money for status displays (Decimals as strings)."""
        broker = self.broker
        ledger = broker.ledger
        last = broker.last_price
        return {
            "bars": self.stats.bars,
            "trades_seen": self.stats.trades,
            "ticks_seen": self.stats.ticks,
            "orders": self.client.stats.submitted,
            "fills": self.stats.fills,
            "rejects": self.stats.rejects,
            "last_reject": self.stats.last_reject,
            "position": ledger.qty,
            "avg_cost": ledger.avg_cost,
            "realized_pnl": ledger.realized,
            "unrealized_pnl": ledger.unrealized(last),
            "pnl": ledger.pnl(last),
            "equity": broker.equity_decimal(),
            "last_price": last,
        }
