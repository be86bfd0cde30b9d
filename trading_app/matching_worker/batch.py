"""Apply one batch of inputs to the engine and collect every consequence as plain data.

No database I/O happens here: the output (`BatchResult`) is what the persistence step writes in
one transaction and what the publisher sends once that transaction has committed. Keeping the two
apart is what makes a crash harmless: until the commit, nothing has been promised to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from matching import events as ev
from matching.codes import SIDE_NAMES
from trading_app.matching_worker.state import LiveOrder, format_price, iso


@dataclass(slots=True)
class FillRecord:
    execution_id: int
    symbol: str
    instrument_id: int
    price: Decimal
    qty: int
    taker: LiveOrder
    maker: LiveOrder
    taker_side: str
    timestamp: datetime


@dataclass
class BatchResult:
    """Everything one batch changed, in the order it happened."""

    touched: dict[object, LiveOrder] = field(default_factory=dict)  # id -> order, insertion order
    fills: list[FillRecord] = field(default_factory=list)
    reports: list[tuple[int, dict]] = field(default_factory=list)  # (account_id, report)
    errors: list[tuple[int, dict]] = field(default_factory=list)  # (account_id, error message)
    level_changes: list[tuple[str, int, int, int]] = field(default_factory=list)
    last_prices: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)
    market: dict[str, dict] = field(default_factory=dict)  # symbol -> market.update message
    _now: datetime | None = None
    _now_iso: str = ""

    def touch(self, order: LiveOrder, *fields: str) -> None:
        self.touched[order.id] = order
        order.changed_fields.update(fields)

    def report(self, order: LiveOrder, event: str, timestamp: datetime, **extra) -> None:
        if self._now is not timestamp:
            self._now, self._now_iso = timestamp, iso(timestamp)
        payload = {
            "event": event,
            "timestamp": self._now_iso,
            "order": order.as_report(self._now_iso),
            **extra,
        }
        self.reports.append((order.account_id, payload))

    @property
    def is_empty(self) -> bool:
        return not (self.touched or self.errors)


class EventApplier:
    """Turns engine events into order-state changes, fills and reports for a BatchResult."""

    def __init__(self, live: dict[int, LiveOrder], tick_sizes: dict[str, Decimal], counter) -> None:
        self.live = live  # engine order id (seq) -> LiveOrder, live orders only
        self.tick_sizes = tick_sizes
        self.counter = counter  # callable: next globally unique number for this shard

    def apply(self, events: list[tuple], result: BatchResult, now: datetime) -> None:
        live = self.live
        for event in events:
            kind = event[0]
            if kind == ev.FILL:
                self._fill(event, result, now)
            elif kind == ev.ACCEPTED:
                order = live[event[1]]
                if order.status == "accepted":
                    order.status = "new"
                    order.updated_at = now
                    result.touch(order, "status", "seq", "priority", "updated_at")
                    result.report(order, "new", now)
            elif kind == ev.CANCELED:
                order = live.pop(event[1])
                order.status = "canceled"
                order.canceled_at = order.updated_at = now
                reason = event[3]
                if reason != ev.R_USER:
                    order.reject_reason = reason
                result.touch(
                    order, "status", "canceled_at", "updated_at", "reject_reason", "seq", "priority"
                )
                result.report(order, "canceled", now, reason=reason)
            elif kind == ev.EXPIRED:
                order = live.pop(event[1])
                order.status = "expired"
                order.expired_at = order.updated_at = now
                result.touch(order, "status", "expired_at", "updated_at")
                result.report(order, "expired", now)
            elif kind == ev.REJECTED:
                order = live.pop(event[1], None)
                if order is None:  # a reject of a cancel/replace for an unknown order
                    continue
                self.reject(order, event[2], result, now)
            elif kind == ev.REPLACED:
                _, oid, qty, price, _remaining, kept_priority = event
                order = live[oid]
                order.qty = qty
                if price is not None and order.limit_price is not None:
                    order.limit_price = price * self.tick_sizes[order.symbol]
                    order.report_static = None
                if not kept_priority:
                    order.priority = self.counter()
                order.updated_at = now
                result.touch(order, "qty", "limit_price", "priority", "updated_at")
                result.report(order, "replaced", now)
            elif kind == ev.TRIGGERED:
                order = live[event[1]]
                order.triggered_at = order.updated_at = now
                order.priority = self.counter()
                result.touch(order, "triggered_at", "priority", "updated_at")

    def reject(self, order: LiveOrder, reason: str, result: BatchResult, now: datetime) -> None:
        order.status = "rejected"
        order.reject_reason = reason[:255]
        order.updated_at = now
        result.touch(order, "status", "reject_reason", "updated_at", "seq", "priority")
        result.report(order, "rejected", now, reason=reason)

    def _fill(self, event: tuple, result: BatchResult, now: datetime) -> None:
        (
            _,
            symbol,
            price_ticks,
            qty,
            taker_id,
            maker_id,
            _ta,
            _ma,
            taker_side,
            taker_rem,
            maker_rem,
        ) = event
        live = self.live
        price = price_ticks * self.tick_sizes[symbol]
        taker, maker = live[taker_id], live[maker_id]
        record = FillRecord(
            execution_id=self.counter(),
            symbol=symbol,
            instrument_id=taker.instrument_id,
            price=price,
            qty=qty,
            taker=taker,
            maker=maker,
            taker_side=SIDE_NAMES[taker_side],
            timestamp=now,
        )
        result.fills.append(record)
        result.last_prices[symbol] = (price, now)
        for order, remaining in ((taker, taker_rem), (maker, maker_rem)):
            order.filled_qty += qty
            order.filled_notional += price * qty
            order.updated_at = now
            if remaining == 0:
                order.status = "filled"
                order.filled_at = now
                live.pop(order.seq, None)
            else:
                order.status = "partially_filled"
            result.touch(
                order,
                "status",
                "filled_qty",
                "filled_avg_price",
                "filled_at",
                "updated_at",
                "seq",
                "priority",
            )
            result.report(
                order,
                "fill" if remaining == 0 else "partial_fill",
                now,
                price=format_price(price),
                qty=qty,
                execution_id=record.execution_id,
                liquidity="taker" if order is taker else "maker",
            )
