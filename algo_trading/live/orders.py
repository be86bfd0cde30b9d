"""One account's orders as the matching worker's channel messages, and their state from reports.

``OrderClient`` writes exactly what the WebSocket gateway writes (docs/architecture.md: the
worker's payload P inside ``orders.submit``, ``order.cancel``, ``order.replace``) and reads the
``trade.updates`` reports the worker publishes to ``account.<id>``. It does no I/O: messages go
to a ``send(channel, message)`` callable that a transport drains, so the same code serves a
live strategy, the market simulator's agents and the unit tests.

Orders that came over the channel layer are acknowledged by their first report; the worker
contract says a sender resends an unacknowledged one (a batch that failed to commit is
forgotten). The client resends with the same id and client_order_id, so a repeat that did reach
the book is refused as a duplicate rather than doubled, and that refusal carries the state.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from matching.sharding import shard_channel, shard_of

from .ledger import Ledger

log = logging.getLogger("tradingsim.live")

ZERO = Decimal(0)
PENDING = "pending"  # sent, no report yet
OPEN_STATUSES = frozenset({PENDING, "new", "partially_filled"})
TERMINAL_EVENTS = frozenset({"fill", "canceled", "expired", "rejected"})

Send = Callable[[str, dict], None]


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """What order entry needs to know of an instrument (a plain value, loaded once)."""

    symbol: str
    tick_size: Decimal = Decimal("0.01")
    lot_size: int = 1
    reference_price: Decimal | None = None

    def round_price(self, price: float | Decimal, side: str) -> Decimal:
        """Onto the tick grid, never to a worse price than asked: buys round down, sells up."""
        try:
            value = price if isinstance(price, Decimal) else Decimal(repr(float(price)))
        except (InvalidOperation, ValueError, TypeError) as exc:
            raise ValueError(f"not a price: {price!r}") from exc
        if not value.is_finite() or value <= 0:
            raise ValueError(f"price must be positive, got {price!r}")
        steps = (value / self.tick_size).to_integral_value(
            rounding=ROUND_FLOOR if side == "buy" else ROUND_CEILING
        )
        steps = max(steps, Decimal(1))
        places = min(self.tick_size.normalize().as_tuple().exponent, 0)
        return (steps * self.tick_size).quantize(Decimal(1).scaleb(places))


@dataclass(slots=True, eq=False)
class TrackedOrder:
    """An order this client sent, as the exchange last reported it."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    payload: dict
    status: str = PENDING
    filled_qty: int = 0
    filled_notional: Decimal = ZERO
    reason: str = ""
    sent_at: float = 0.0
    attempts: int = 1
    cancel_sent: bool = False
    owner: Any = None  # the caller's handle (a strategy Order, an agent's quote slot...)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    @property
    def signed_remaining(self) -> int:
        return self.remaining if self.side == "buy" else -self.remaining

    @property
    def avg_fill_price(self) -> Decimal | None:
        return self.filled_notional / self.filled_qty if self.filled_qty else None


@dataclass(slots=True)
class OrderEvent:
    """What a report meant for one tracked order: ``kind`` is the report's event, or
    ``replace_rejected`` / ``timeout``. Fills carry qty and price."""

    order: TrackedOrder
    kind: str
    qty: int = 0
    price: Decimal | None = None
    reason: str = ""

    @property
    def is_fill(self) -> bool:
        return self.kind in ("fill", "partial_fill")


@dataclass
class ClientStats:
    submitted: int = 0
    canceled: int = 0
    replaced: int = 0
    fills: int = 0
    rejected: int = 0
    resent: int = 0
    last_reject: str = ""
    errors: dict[str, int] = field(default_factory=dict)


class OrderClient:
    """Order entry and order state for one account (any number of symbols)."""

    def __init__(
        self,
        account_id: int,
        specs: dict[str, InstrumentSpec],
        send: Send,
        *,
        origin: str = "strategy",
        shards: int = 1,
        prefix: str | None = None,
        ack_timeout: float = 5.0,
        max_attempts: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account_id = int(account_id)
        self.specs = specs
        self.send = send
        self.origin = origin
        self.shards = max(int(shards), 1)
        # client_order_id must be unique per account for ever (the database enforces it)
        self.prefix = prefix if prefix is not None else f"{origin}-{secrets.token_hex(3)}-"
        self.ack_timeout = ack_timeout
        self.max_attempts = max_attempts
        self.clock = clock
        self.orders: dict[str, TrackedOrder] = {}  # open (or just closed this report) by id
        self.ledgers: dict[str, Ledger] = {}
        self.stats = ClientStats()
        self._pending: dict[str, TrackedOrder] = {}
        self._executions: dict[Any, None] = {}  # recent execution ids (dedupe), insertion-ordered
        self._n = 0

    # ------------------------------------------------------------------------------ state

    def ledger(self, symbol: str) -> Ledger:
        found = self.ledgers.get(symbol)
        if found is None:
            found = self.ledgers[symbol] = Ledger()
        return found

    def open_orders(self, symbol: str | None = None) -> list[TrackedOrder]:
        return [
            o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def channel_for(self, symbol: str) -> str:
        return shard_channel(shard_of(symbol, self.shards))

    # ------------------------------------------------------------------------------ order entry

    def submit(
        self,
        symbol: str,
        side: str,
        qty: int,
        limit_price: Decimal | None = None,
        time_in_force: str | None = None,
        owner: Any = None,
    ) -> TrackedOrder:
        """Send a market (no limit) or limit order; returns it in state ``pending``."""
        spec = self.specs.get(symbol)
        if spec is None:
            raise ValueError(f"unknown symbol {symbol!r}")
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be buy or sell, got {side!r}")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ValueError(f"qty must be a positive int, got {qty!r}")
        if spec.lot_size > 1 and qty % spec.lot_size:
            raise ValueError(f"qty must be a multiple of the lot size {spec.lot_size}")
        if limit_price is not None and (limit_price <= 0 or limit_price % spec.tick_size != 0):
            raise ValueError(f"limit price {limit_price} is not on the tick grid {spec.tick_size}")
        order_type = "market" if limit_price is None else "limit"
        tif = time_in_force or ("day" if limit_price is None else "gtc")
        self._n += 1
        order_id = str(uuid.uuid4())
        payload = {
            "id": order_id,
            "account_id": self.account_id,
            "client_order_id": f"{self.prefix}{self._n}",
            "symbol": symbol,
            "side": side,
            "type": order_type,
            "time_in_force": tif,
            "qty": qty,
            "limit_price": str(limit_price) if limit_price is not None else None,
            "stop_price": None,
            "origin": self.origin,
        }
        order = TrackedOrder(
            id=order_id,
            client_order_id=payload["client_order_id"],
            symbol=symbol,
            side=side,
            type=order_type,
            qty=qty,
            limit_price=limit_price,
            time_in_force=tif,
            payload=payload,
            sent_at=self.clock(),
            owner=owner,
        )
        self.orders[order_id] = order
        self._pending[order_id] = order
        self.stats.submitted += 1
        self.send(self.channel_for(symbol), {"type": "orders.submit", "orders": [payload]})
        return order

    def cancel(self, order: TrackedOrder) -> bool:
        """Ask the worker to cancel; False if the order is already closed or being canceled."""
        if not order.is_open or order.cancel_sent:
            return False
        order.cancel_sent = True
        self.stats.canceled += 1
        self.send(
            self.channel_for(order.symbol),
            {"type": "order.cancel", "id": order.id, "account_id": self.account_id},
        )
        return True

    def replace(
        self, order: TrackedOrder, limit_price: Decimal | None = None, qty: int | None = None
    ) -> bool:
        """Move a resting order's price (back of the new level) and/or its total quantity."""
        if not order.is_open or order.cancel_sent or (limit_price is None and qty is None):
            return False
        self.stats.replaced += 1
        self.send(
            self.channel_for(order.symbol),
            {
                "type": "order.replace",
                "id": order.id,
                "account_id": self.account_id,
                "qty": qty,
                "limit_price": str(limit_price) if limit_price is not None else None,
            },
        )
        return True

    # ------------------------------------------------------------------------------ reports

    def apply(self, update: dict) -> OrderEvent | None:
        """One element of a ``trade.updates`` message; None if it is not about our orders."""
        event = update.get("event")
        if event == "error":
            return self._error(update)
        report = update.get("order") or {}
        order = self.orders.get(str(report.get("id")))
        if order is None:
            return None
        self._pending.pop(order.id, None)
        if event in ("fill", "partial_fill"):
            execution = update.get("execution_id")
            if execution is not None:
                if execution in self._executions:
                    return None  # the same execution reported twice
                self._executions[execution] = None
                if len(self._executions) > 10_000:
                    self._executions.pop(next(iter(self._executions)))
            return self._fill(order, int(update["qty"]), Decimal(str(update["price"])))
        if event == "new":
            if order.status == PENDING:
                order.status = "new"
            return OrderEvent(order, "new")
        if event == "replaced":
            order.qty = int(report.get("qty", order.qty))
            if report.get("limit_price") is not None:
                order.limit_price = Decimal(str(report["limit_price"]))
            return OrderEvent(order, "replaced")
        if event in ("canceled", "expired", "rejected"):
            reason = str(update.get("reason") or report.get("reject_reason") or "")
            return self._close(order, event, reason)
        return None

    def _fill(self, order: TrackedOrder, qty: int, price: Decimal) -> OrderEvent:
        order.filled_qty += qty
        order.filled_notional += price * qty
        order.status = "filled" if order.filled_qty >= order.qty else "partially_filled"
        self.ledger(order.symbol).apply(qty if order.side == "buy" else -qty, price)
        self.stats.fills += 1
        if order.status == "filled":
            self.orders.pop(order.id, None)
        return OrderEvent(order, "fill" if order.status == "filled" else "partial_fill", qty, price)

    def _close(self, order: TrackedOrder, status: str, reason: str) -> OrderEvent:
        order.status = status
        order.reason = reason
        self._pending.pop(order.id, None)
        self.orders.pop(order.id, None)
        if status == "rejected":
            self.stats.rejected += 1
            self.stats.last_reject = reason
            log.info("order %s %s %s rejected: %s", order.symbol, order.side, order.qty, reason)
        return OrderEvent(order, status, reason=reason)

    def _error(self, update: dict) -> OrderEvent | None:
        code = str(update.get("code") or "error")
        self.stats.errors[code] = self.stats.errors.get(code, 0) + 1
        order = self.orders.get(str(update.get("id")))
        if order is None:
            return None
        message = str(update.get("message") or code)
        if code == "duplicate_client_order_id":
            return self._adopt(order, update.get("existing_order"))
        if code == "replace_rejected":
            return OrderEvent(order, "replace_rejected", reason=message)
        if code == "unknown_order":
            return None  # a cancel/replace that lost a race; the order's own report says how
        if order.status == PENDING:  # the submit itself was refused (invalid_order...)
            return self._close(order, "rejected", f"{code}: {message}")
        return None

    def _adopt(self, order: TrackedOrder, existing: dict | None) -> OrderEvent | None:
        """A resend that the worker had already applied: take the state it reports."""
        if not existing or order.status != PENDING:
            return None
        self._pending.pop(order.id, None)
        status = str(existing.get("status") or "new")
        filled = int(existing.get("filled_qty") or 0)
        if filled > order.filled_qty and existing.get("filled_avg_price") is not None:
            # reports of those fills were lost with the first attempt: book what the worker says
            missing = filled - order.filled_qty
            log.warning(
                "order %s: adopting %d filled shares from a duplicate report", order.id, missing
            )
            event = self._fill(order, missing, Decimal(str(existing["filled_avg_price"])))
            if status in ("canceled", "expired", "rejected") and order.is_open:
                self._close(order, status, "")
            return event
        if status in ("canceled", "expired", "rejected", "filled"):
            if status == "filled":
                log.warning("order %s filled, but its fill reports were lost", order.id)
            return self._close(order, status, "state adopted from a duplicate report")
        order.status = status if status in OPEN_STATUSES else "new"
        return OrderEvent(order, "new")

    # ------------------------------------------------------------------------------ timers

    def due(self, now: float | None = None) -> list[OrderEvent]:
        """Resend orders with no report after ``ack_timeout``; give up after ``max_attempts``."""
        if not self._pending:
            return []
        now = self.clock() if now is None else now
        events = []
        for order in list(self._pending.values()):
            if now - order.sent_at < self.ack_timeout:
                continue
            if order.attempts >= self.max_attempts:
                reason = f"no acknowledgement from the matching worker after {order.attempts} tries"
                log.warning("order %s: %s", order.id, reason)
                events.append(self._close(order, "rejected", reason))
                continue
            order.attempts += 1
            order.sent_at = now
            self.stats.resent += 1
            self.send(
                self.channel_for(order.symbol), {"type": "orders.submit", "orders": [order.payload]}
            )
        return events
