"""The values that flow between a strategy and its broker: bars, ticks, orders, fills.

They are deliberately plain (no pandas, no Django) so the same strategy code runs in a
backtest, on the live exchange and in a replay. Prices here are floats: the strategy layer is a
research/decision layer; the live adapter converts to Decimal ticks at the exchange edge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

BUY = "buy"
SELL = "sell"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts_to_datetime(ts: int) -> datetime:
    """Nanoseconds since the epoch (UTC) to an aware datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ts // 1000)


class _BarBase(NamedTuple):
    ts: int  # nanoseconds since the epoch, UTC; cheap to carry, converted on demand
    open: float
    high: float
    low: float
    close: float
    volume: float


class Bar(_BarBase):
    """One OHLCV bar. Immutable, so a strategy may keep references to past bars safely.

    A NamedTuple because the backtester creates a million of these per benchmark run and tuple
    construction is several times cheaper than a Python ``__init__``.
    """

    __slots__ = ()

    @property
    def time(self) -> datetime:
        return ts_to_datetime(self.ts)


class Tick(NamedTuple):
    """A trade or quote update, for strategies that react intra-bar (live and tick replay)."""

    ts: int
    price: float
    size: float = 0.0
    bid: float | None = None
    ask: float | None = None

    @property
    def time(self) -> datetime:
        return ts_to_datetime(self.ts)


class OrderStatus:
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"


class Order:
    """An order as the strategy sees it. Whole quantity fills at once (no partials modelled)."""

    __slots__ = (
        "id",
        "side",
        "qty",
        "limit",
        "status",
        "created_ts",
        "filled_ts",
        "fill_price",
        "tag",
    )

    def __init__(
        self,
        id: Any,  # noqa: A002
        side: str,
        qty: int,
        limit: float | None = None,
        created_ts: int = 0,
        tag: str = "",
    ) -> None:
        self.id = id
        self.side = side
        self.qty = qty
        self.limit = limit
        self.status = OrderStatus.OPEN
        self.created_ts = created_ts
        self.filled_ts: int | None = None
        self.fill_price: float | None = None
        self.tag = tag

    @property
    def signed_qty(self) -> int:
        return self.qty if self.side == BUY else -self.qty

    @property
    def is_open(self) -> bool:
        return self.status == OrderStatus.OPEN

    def __repr__(self) -> str:
        kind = f"limit {self.limit}" if self.limit is not None else "market"
        return f"<Order {self.id} {self.side} {self.qty} {kind} {self.status}>"


class Fill(NamedTuple):
    """An execution reported back to the strategy's on_fill hook."""

    order: Order
    ts: int
    side: str
    qty: int
    price: float
    commission: float

    @property
    def time(self) -> datetime:
        return ts_to_datetime(self.ts)

    @property
    def signed_qty(self) -> int:
        return self.qty if self.side == BUY else -self.qty
