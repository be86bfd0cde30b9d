"""Vectorised fast path for strategies that expose ``target_directions``.

The strategy computes its direction at every bar with numpy (signals on bar t's close). Only
the bars where the direction changes are then walked in Python, replaying exactly what
``Strategy.set_direction`` does in the event-driven engine: size with the same sizer on the
same inputs, submit the difference to the target, fill at the next bar's open with the same
slippage and commission, book in the same ``Ledger``. Same inputs, same float operations, so
the same trades; ``tests/algo/test_vectorised.py`` checks it on random walks.
"""

from __future__ import annotations

import numpy as np

from .costs import CommissionModel, SlippageModel
from .engine import BarArrays, RawRun
from .fills import fill_price
from .ledger import Ledger
from .models import BUY, SELL
from .sizing import Sizer
from .strategy import Strategy


def run_vectorised(
    strategy: Strategy,
    data: BarArrays,
    cash: float,
    commission: CommissionModel,
    slippage: SlippageModel,
    sizer: Sizer,
) -> RawRun:
    if not strategy.vectorisable:
        raise ValueError(f"{strategy.name or type(strategy).__name__} has no vectorised form")
    n = len(data)
    directions = np.asarray(strategy.target_directions(data.as_dict()), dtype=np.int8)
    if directions.shape != (n,):
        raise ValueError("target_directions must return one direction per bar")
    changes = np.flatnonzero(np.diff(directions, prepend=np.int8(0)))

    ledger = Ledger(cash)
    close = data.close
    opens, highs, lows, ts = data.open, data.high, data.low, data.ts
    window = sizer.window
    orders = 0
    pending_bar = -1  # bar on which the pending order was decided
    pending_qty = 0

    def fill(j: int, qty: int) -> None:
        side = BUY if qty > 0 else SELL
        o, h, lo = float(opens[j]), float(highs[j]), float(lows[j])
        price = slippage(side, fill_price(side, None, o, h, lo), h, lo)  # type: ignore[arg-type]
        ledger.apply(j, int(ts[j]), qty, price, commission(abs(qty), price))

    for t in changes.tolist():
        if pending_qty:
            fill(pending_bar + 1, pending_qty)  # pending_bar + 1 <= t: changes are increasing
            pending_qty = 0
        d = int(directions[t])
        position = ledger.position
        if d == 0:
            target = 0
        else:
            price = float(close[t])
            equity = ledger.cash + position * price
            start = t + 1 - window
            qty = sizer.quantity(price, equity, close[start if start > 0 else 0 : t + 1])
            target = d * qty
        delta = target - position
        if delta:
            pending_bar, pending_qty = t, delta
            orders += 1
    open_orders = 0
    if pending_qty:
        if pending_bar + 1 < n:
            fill(pending_bar + 1, pending_qty)
        else:
            open_orders = 1
    return RawRun(
        ledger=ledger, orders_submitted=orders, open_orders=open_orders, engine="vectorised"
    )
