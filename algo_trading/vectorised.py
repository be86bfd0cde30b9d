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
    window = sizer.window
    # Gather, once, everything the walk needs at the change bars (decisions) and the bars
    # after them (fills) as Python floats: per-element numpy indexing would dominate.
    fill_at = np.minimum(changes + 1, n - 1)
    decide = changes.tolist()
    dirs = directions[changes].tolist()
    closes = close[changes].tolist()
    f_open = data.open[fill_at].tolist()
    f_high = data.high[fill_at].tolist()
    f_low = data.low[fill_at].tolist()
    f_ts = data.ts[fill_at].tolist()
    apply = ledger.apply
    orders = 0
    pending = -1  # index into the change arrays of the order waiting for its fill
    pending_qty = 0

    def fill(k: int, qty: int) -> None:
        side = BUY if qty > 0 else SELL
        h, lo = f_high[k], f_low[k]
        price = slippage(side, fill_price(side, None, f_open[k], h, lo), h, lo)  # type: ignore[arg-type]
        apply(decide[k] + 1, f_ts[k], qty, price, commission(abs(qty), price))

    for k, t in enumerate(decide):
        if pending_qty:
            fill(pending, pending_qty)  # on bar decide[pending] + 1 <= t: changes increase
            pending_qty = 0
        d = dirs[k]
        position = ledger.position
        if d == 0:
            target = 0
        else:
            price = closes[k]
            equity = ledger.cash + position * price
            start = t + 1 - window
            target = d * sizer.quantity(price, equity, close[start if start > 0 else 0 : t + 1])
        delta = target - position
        if delta:
            pending, pending_qty = k, delta
            orders += 1
    open_orders = 0
    if pending_qty:
        if decide[pending] + 1 < n:
            fill(pending, pending_qty)
        else:
            open_orders = 1
    return RawRun(
        ledger=ledger, orders_submitted=orders, open_orders=open_orders, engine="vectorised"
    )
