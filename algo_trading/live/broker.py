"""``LiveBroker``: the strategy's ``Broker`` on tradingSim's exchange, one symbol, one account.

A strategy calls the same helpers as in a backtest; here they become real orders (via an
``OrderClient``) and real fills come back as ``on_fill``. Differences a strategy may notice:

* Fill rule: the exchange decides. An order placed while bar t is processed fills from then on
  against the live book, i.e. after the decision, as the backtest's next-open rule models; it
  may fill in parts (each part is an ``on_fill``; the order stays open until fully filled).
* ``position``/``cash``/``equity`` are the run's own: its fills against the cash allocated to
  it, not the whole account (which may hold other positions and far more cash).
* ``cancel_order`` is a request: the order leaves ``open_orders`` at once, but a fill that was
  already on its way is still booked and reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from ..broker import Broker, check_order
from ..models import BUY, Fill, Order, OrderStatus
from .orders import InstrumentSpec, OrderClient, OrderEvent, TrackedOrder


class StrategyOrder(Order):
    """A strategy's Order that knows how much of it has filled (partial fills happen live)."""

    __slots__ = ("filled_qty", "tracked")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filled_qty = 0
        self.tracked: TrackedOrder | None = None

    @property
    def signed_qty(self) -> int:
        """The part still to fill: what ``pending_qty``/``order_target`` must count."""
        remaining = self.qty - self.filled_qty
        return remaining if self.side == BUY else -remaining


class LiveBroker(Broker):
    def __init__(
        self,
        client: OrderClient,
        spec: InstrumentSpec,
        cash: Decimal,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.client = client
        self.spec = spec
        self.symbol = spec.symbol
        self.allocation = Decimal(cash)
        self.clock_ns = clock_ns
        self.ledger = client.ledger(spec.symbol)
        self.last_price: Decimal | None = spec.reference_price
        self._open: dict[str, StrategyOrder] = {}

    # ------------------------------------------------------------------------------ Broker

    def submit_order(self, side: str, qty: int, limit: float | None = None, tag: str = "") -> Order:
        check_order(side, qty, limit)
        price = self.spec.round_price(limit, side) if limit is not None else None
        order = StrategyOrder(
            None, side, qty, float(price) if price is not None else None, self.clock_ns(), tag
        )
        tracked = self.client.submit(self.symbol, side, qty, price, owner=order)
        order.id = tracked.id
        order.tracked = tracked
        self._open[tracked.id] = order
        return order

    def cancel_order(self, order: Order) -> bool:
        live = self._open.pop(order.id, None)
        if live is None:
            return False
        live.status = OrderStatus.CANCELED
        if live.tracked is not None:
            self.client.cancel(live.tracked)
        return True

    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    def position(self) -> int:
        return self.ledger.qty

    def cash(self) -> float:
        return float(self.allocation + self.ledger.cash)

    def equity(self) -> float:
        return float(self.equity_decimal())

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock_ns() / 1e9, tz=UTC)

    # ------------------------------------------------------------------------------ the adapter's side

    def equity_decimal(self) -> Decimal:
        mark = self.last_price if self.last_price is not None else Decimal(0)
        return self.allocation + self.ledger.cash + self.ledger.qty * mark

    def pnl(self) -> Decimal:
        return self.ledger.pnl(self.last_price)

    def mark(self, price: Decimal) -> None:
        self.last_price = price

    def on_event(self, event: OrderEvent) -> Fill | None:
        """Apply an order event; return the Fill to hand to ``on_fill`` (None otherwise)."""
        order = event.order.owner
        if not isinstance(order, StrategyOrder):
            return None
        if event.is_fill:
            order.filled_qty += event.qty
            if event.order.status == "filled":
                order.status = OrderStatus.FILLED
                order.filled_ts = self.clock_ns()
                avg = event.order.avg_fill_price
                order.fill_price = float(avg) if avg is not None else float(event.price)
                self._open.pop(order.id, None)
            price = float(event.price) if event.price is not None else 0.0
            return Fill(order, self.clock_ns(), order.side, event.qty, price, 0.0)
        if event.kind in ("canceled", "expired", "rejected"):
            self._open.pop(order.id, None)
            order.status = OrderStatus.CANCELED
        return None
