"""The same strategy class runs unchanged against another Broker implementation.

``StreamingBroker`` is what a live or replay adapter looks like: bars arrive one at a time,
history is a RingHistory, fills use algo_trading.fills. It must reproduce the backtester.
"""

from datetime import datetime

import numpy as np
import pytest

from algo_trading import registry, run_backtest
from algo_trading.broker import Broker, check_order
from algo_trading.fills import fill_price
from algo_trading.history import ArrayHistory, RingHistory
from algo_trading.models import BUY, Bar, Fill, Order, OrderStatus, ts_to_datetime
from algo_trading.sizing import FixedQuantity

from .helpers import random_walk


class StreamingBroker(Broker):
    def __init__(self, cash):
        self._cash = cash
        self._pos = 0
        self._open = []
        self._last = None
        self._ids = 0
        self.fills = []

    def submit_order(self, side, qty, limit=None, tag=""):
        check_order(side, qty, limit)
        self._ids += 1
        order = Order(f"live-{self._ids}", side, qty, limit, self._last.ts, tag)
        self._open.append(order)
        return order

    def cancel_order(self, order):
        if order in self._open:
            self._open.remove(order)
            order.status = OrderStatus.CANCELED
            return True
        return False

    def open_orders(self):
        return list(self._open)

    def position(self):
        return self._pos

    def cash(self):
        return self._cash

    def equity(self):
        return self._cash + self._pos * self._last.close

    def now(self) -> datetime:
        return ts_to_datetime(self._last.ts)

    def on_new_bar(self, bar, strategy):
        for order in list(self._open):
            price = fill_price(order.side, order.limit, bar.open, bar.high, bar.low)
            if price is None:
                continue
            signed = order.qty if order.side == BUY else -order.qty
            self._cash -= signed * price
            self._pos += signed
            self._open.remove(order)
            order.status = OrderStatus.FILLED
            fill = Fill(order, bar.ts, order.side, order.qty, price, 0.0)
            self.fills.append((bar.ts, signed, price))
            strategy.on_fill(fill)
        self._last = bar


def stream(strategy, bars):
    broker = StreamingBroker(100_000.0)
    history = RingHistory(max(strategy.history_size, 1))
    strategy.bind(broker, history, FixedQuantity(10))
    strategy.on_start()
    ts = bars.index.as_unit("ns").asi8
    for k, row in enumerate(bars.itertuples(index=False)):
        bar = Bar(int(ts[k]), row.Open, row.High, row.Low, row.Close, row.Volume)
        broker.on_new_bar(bar, strategy)
        history.append(bar)
        strategy.on_bar(bar)
    strategy.on_stop()
    return broker.fills


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("ma_crossover", {"fast": 5, "slow": 20, "allow_short": True}),
        ("ma_crossover", {"fast": 4, "slow": 9, "kind": "ema"}),
        ("mean_reversion", {"entry_z": 1.5, "allow_short": True}),
        ("momentum_breakout", {"lookback": 10, "volume_factor": 1.0, "allow_short": True}),
    ],
)
def test_streaming_broker_reproduces_the_backtest(name, params):
    bars = random_walk(400, seed=21)
    fills = stream(registry.create(name, params), bars)
    result = run_backtest(
        name, bars, params, engine="event", sizing={"model": "fixed", "quantity": 10}
    )
    ts = bars.index.as_unit("ns").asi8
    position = np.zeros(len(bars))
    for when, qty, _ in fills:
        position[np.searchsorted(ts, when) :] += qty
    assert fills, "the case should trade"
    np.testing.assert_array_equal(position, result.position_values)
    cash = 100_000.0 - sum(qty * price for _, qty, price in fills)
    final = cash + position[-1] * bars["Close"].iloc[-1]
    assert final == pytest.approx(result.equity_values[-1], abs=1e-6)


def test_ring_history_matches_array_history():
    bars = random_walk(57, seed=3)
    ts = bars.index.as_unit("ns").asi8
    arrays = {
        "ts": ts,
        "open": bars["Open"].to_numpy(),
        "high": bars["High"].to_numpy(),
        "low": bars["Low"].to_numpy(),
        "close": bars["Close"].to_numpy(),
        "volume": bars["Volume"].to_numpy(),
    }
    ring, array = RingHistory(8), ArrayHistory(arrays, 8)
    for k in range(len(bars)):
        ring.append(
            Bar(int(ts[k]), *(arrays[f][k] for f in ("open", "high", "low", "close", "volume")))
        )
        array.end = k + 1
        assert len(ring) == len(array) == min(k + 1, 8)
        for field in ("ts", "open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(ring.tail(field, 5), array.tail(field, 5))
        np.testing.assert_array_equal(ring.close, array.close)
    with pytest.raises(ValueError):
        ring.close[0] = 1.0
