"""The interface a strategy talks to; one implementation per mode.

A strategy never touches data sources or the exchange directly: it calls these few methods
through its helpers (``buy``, ``sell``, ``close``, ``cancel``, ``position``...). The backtester
implements them over historical bars (``algo_trading.engine.BacktestBroker``); the live adapter
implements them against our exchange (converting float prices to Decimal ticks at that edge);
replay is the backtest broker fed recorded bars. Because the surface is this small, the same
strategy class runs unchanged in all three.

Every broker applies the rules in ``algo_trading.fills``: orders submitted while bar t is
processed fill from bar t+1 on. A broker reports executions by calling the strategy's
``on_fill`` before the next ``on_bar``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from .models import Order


class OrderError(ValueError):
    """An order request is malformed (non-positive or non-integer quantity, bad limit)."""


class Broker(ABC):
    """Order entry and account state for one strategy instance trading one symbol."""

    symbol: str = ""

    @abstractmethod
    def submit_order(self, side: str, qty: int, limit: float | None = None, tag: str = "") -> Order:
        """Queue a market (``limit=None``) or limit order; returns the open Order."""

    @abstractmethod
    def cancel_order(self, order: Order) -> bool:
        """Cancel an open order; False if it had already filled or been cancelled."""

    @abstractmethod
    def open_orders(self) -> list[Order]:
        """Orders submitted and neither filled nor cancelled, oldest first."""

    @abstractmethod
    def position(self) -> int:
        """Signed share position: > 0 long, < 0 short."""

    @abstractmethod
    def cash(self) -> float:
        """Cash balance after all fills so far (may be negative: margin)."""

    @abstractmethod
    def equity(self) -> float:
        """Cash plus the position marked at the last known price."""

    @abstractmethod
    def now(self) -> datetime:
        """Time of the bar (or tick) being processed, UTC."""


def check_order(side: str, qty: object, limit: object) -> None:
    """Validation every broker applies before accepting an order."""
    if side not in ("buy", "sell"):
        raise OrderError(f"side must be 'buy' or 'sell', got {side!r}")
    if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
        raise OrderError(f"qty must be a positive int, got {qty!r}")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0
    ):
        raise OrderError(f"limit must be a positive price, got {limit!r}")
