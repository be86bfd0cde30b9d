"""Event-driven backtest: a Broker over historical bars and the per-bar loop.

Per bar t the loop (1) fills orders submitted earlier against bar t (``fills.fill_price``),
calling ``on_fill``; (2) advances the history cursor to include bar t; (3) calls
``on_bar(bar_t)``. Orders submitted in (1) or (3) wait for bar t+1. That is the whole
look-ahead guarantee, and it is the same contract the live adapter implements.

Speed: the loop iterates Python lists (not pandas, not numpy scalars), builds bars with a
C-level tuple constructor, and does nothing per bar beyond one attribute store and the hook
call unless orders are pending. The equity curve is rebuilt afterwards from the fill log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat

import numpy as np

from .broker import Broker, check_order
from .costs import CommissionModel, SlippageModel
from .fills import fill_price
from .history import ArrayHistory
from .ledger import Ledger
from .models import BUY, Bar, Fill, Order, OrderStatus, ts_to_datetime
from .sizing import Sizer
from .strategy import Strategy


@dataclass
class BarArrays:
    """Validated OHLCV columns as contiguous arrays; ``ts`` is int64 ns since the epoch."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.close)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {
            "ts": self.ts,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


class BacktestBroker(Broker):
    """Simulated broker for one symbol; fills by ``algo_trading.fills`` rules."""

    def __init__(
        self,
        data: BarArrays,
        history: ArrayHistory,
        cash: float,
        commission: CommissionModel,
        slippage: SlippageModel,
        symbol: str = "",
    ) -> None:
        self.symbol = symbol
        self.ledger = Ledger(cash)
        self._ts = data.ts
        self._close = data.close
        self._history = history
        self._commission = commission
        self._slippage = slippage
        self._pending: list[Order] = []
        self._next_id = 1
        self._fill_bar: int | None = None  # set while fills of a bar are being reported
        self._on_fill: Callable[[Fill], None] | None = None  # None: strategy ignores fills
        self.orders_submitted = 0
        self.orders_canceled = 0

    # ----- Broker interface ------------------------------------------------------------
    def submit_order(self, side: str, qty: int, limit: float | None = None, tag: str = "") -> Order:
        check_order(side, qty, limit)
        order = Order(self._next_id, side, qty, limit, self._now_ts(), tag)
        self._next_id += 1
        self._pending.append(order)
        self.orders_submitted += 1
        return order

    def cancel_order(self, order: Order) -> bool:
        if order.status != OrderStatus.OPEN or order not in self._pending:
            return False
        order.status = OrderStatus.CANCELED
        self._pending.remove(order)
        self.orders_canceled += 1
        return True

    def open_orders(self) -> list[Order]:
        return list(self._pending)  # only open orders are ever in _pending

    def position(self) -> int:
        return self.ledger.position

    def cash(self) -> float:
        return self.ledger.cash

    def equity(self) -> float:
        led = self.ledger
        i = self._history.end - 1
        if i < 0:
            return led.cash + (led.position * led.fills[-1][2] if led.fills else 0.0)
        return led.cash + led.position * float(self._close[i])

    def now(self) -> datetime:
        return ts_to_datetime(self._now_ts())

    # ----- engine side -----------------------------------------------------------------
    def _now_ts(self) -> int:
        i = self._fill_bar if self._fill_bar is not None else self._history.end - 1
        return int(self._ts[i]) if i >= 0 else int(self._ts[0])

    def process(self, i: int, bar: Bar) -> None:
        """Fill what can fill on bar ``i``; orders placed from on_fill wait for bar i+1."""
        batch = list(self._pending)
        self._fill_bar = i
        on_fill = self._on_fill
        ledger = self.ledger
        try:
            for order in batch:
                if order.status != OrderStatus.OPEN:
                    continue
                price = fill_price(order.side, order.limit, bar.open, bar.high, bar.low)
                if price is None:
                    continue
                if order.limit is None:
                    price = self._slippage(order.side, price, bar.high, bar.low)
                qty = order.qty
                commission = self._commission(qty, price)
                signed = qty if order.side == BUY else -qty
                ledger.apply(i, bar.ts, signed, price, commission)
                order.status = OrderStatus.FILLED
                order.filled_ts = bar.ts
                order.fill_price = price
                self._pending.remove(order)
                if on_fill is not None:
                    on_fill(Fill(order, bar.ts, order.side, qty, price, commission))
        finally:
            self._fill_bar = None


@dataclass
class RawRun:
    """What an engine hands to result assembly."""

    ledger: Ledger
    orders_submitted: int
    open_orders: int
    engine: str


def run_event_driven(
    strategy: Strategy,
    data: BarArrays,
    cash: float,
    commission: CommissionModel,
    slippage: SlippageModel,
    sizer: Sizer,
    symbol: str = "",
) -> RawRun:
    """Run ``strategy`` bar by bar; the reference engine every other path must agree with."""
    size = max(int(strategy.history_size), sizer.window, 1)
    history = ArrayHistory(data.as_dict(), size)
    broker = BacktestBroker(data, history, cash, commission, slippage, symbol)
    if type(strategy).on_fill is not Strategy.on_fill:
        broker._on_fill = strategy.on_fill
    strategy.bind(broker, history, sizer)
    strategy.on_start()

    pending = broker._pending
    process = broker.process
    on_bar = strategy.on_bar
    bars = map(
        tuple.__new__,
        repeat(Bar),
        zip(
            data.ts.tolist(),
            data.open.tolist(),
            data.high.tolist(),
            data.low.tolist(),
            data.close.tolist(),
            data.volume.tolist(),
            strict=True,
        ),
    )
    i = 0
    for i, bar in enumerate(bars, 1):  # noqa: B007 - i is the bar count after the loop
        if pending:
            process(i - 1, bar)
        history.end = i
        on_bar(bar)
    strategy.on_stop()
    return RawRun(
        ledger=broker.ledger,
        orders_submitted=broker.orders_submitted,
        open_orders=len(broker.open_orders()),
        engine="event",
    )
