"""Backtest accounting: cash, position, round-trip trades, and the fill log.

Shared by the event-driven and the vectorised engines so the same fills give the same cash,
trades and equity curve in both.

Floats, not Decimal: this is a research simulator that must push a million bars a second, and
its outputs are statistics. Float error here is ~1e-12 relative, far below any commission;
reported money is rounded to cents. The exchange ledger (trading_app) stays Decimal.

A *trade* is a round trip from flat back to flat; a fill that flips the position closes the
trade and opens a new one with the remainder (commission split pro rata). Adds to a position
move the average cost; partial exits realise P&L against it.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .models import ts_to_datetime


class Trade(NamedTuple):
    """One closed round trip. A NamedTuple: the ledger books tens of thousands per run."""

    side: str  # "long" | "short"
    entry_ts: int
    exit_ts: int
    entry_bar: int
    exit_bar: int
    entry_price: float  # quantity-weighted average of entry fills
    exit_price: float  # quantity-weighted average of exit fills
    size: int  # total shares entered
    pnl: float  # realised, net of entry and exit commissions
    return_pct: float  # pnl / entry notional * 100
    commission: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_time": ts_to_datetime(self.entry_ts).isoformat(),
            "exit_time": ts_to_datetime(self.exit_ts).isoformat(),
            "side": self.side,
            "entry_price": _rounded(self.entry_price, 2),
            "exit_price": _rounded(self.exit_price, 2),
            "size": self.size,
            "pnl": _rounded(self.pnl, 2),
            "return_pct": _rounded(self.return_pct, 4),
            "commission": _rounded(self.commission, 2),
            "entry_bar": self.entry_bar,
            "exit_bar": self.exit_bar,
        }


def _rounded(x: float, digits: int) -> float | None:
    """Rounded, or None when not finite: a trade's dict is JSON (stored, served)."""
    return round(x, digits) if math.isfinite(x) else None


_new_trade = tuple.__new__  # C-level construction, skipping NamedTuple's Python __new__


class Ledger:
    """Applies fills in order; keeps the fill log the equity curve is rebuilt from."""

    def __init__(self, cash: float) -> None:
        self.initial_cash = float(cash)
        self.cash = float(cash)
        self.position = 0
        self.avg_cost = 0.0
        self.trades: list[Trade] = []
        #: (bar, signed qty, price, commission) per fill, in booking order
        self.fills: list[tuple[int, int, float, float]] = []
        self.total_commission = 0.0
        # the open round trip
        self._side = 0
        self._entry_ts = 0
        self._entry_bar = 0
        self._entry_qty = 0
        self._entry_value = 0.0
        self._exit_qty = 0
        self._exit_value = 0.0
        self._gross = 0.0
        self._commission = 0.0

    def apply(self, bar: int, ts: int, qty: int, price: float, commission: float) -> None:
        """Book a fill of signed ``qty`` at ``price``."""
        self.fills.append((bar, qty, price, commission))
        self.total_commission += commission
        self.cash -= qty * price + commission
        pos = self.position
        new_pos = pos + qty
        if pos == 0:
            self._open(bar, ts, qty, price, commission)
        elif (pos > 0) == (qty > 0):
            q = abs(qty)
            self.avg_cost = (self.avg_cost * abs(pos) + price * q) / abs(new_pos)
            self._entry_qty += q
            self._entry_value += q * price
            self._commission += commission
        else:
            q = abs(qty)
            closing = min(q, abs(pos))
            self._gross += closing * (price - self.avg_cost) * self._side
            self._exit_qty += closing
            self._exit_value += closing * price
            part = commission if closing == q else commission * closing / q
            self._commission += part
            if new_pos == 0 or (new_pos > 0) != (pos > 0):
                self._finish(bar, ts)
                if new_pos != 0:
                    self._open(bar, ts, new_pos, price, commission - part)
        self.position = new_pos
        if new_pos == 0:
            self.avg_cost = 0.0

    def _open(self, bar: int, ts: int, qty: int, price: float, commission: float) -> None:
        q = abs(qty)
        self._side = 1 if qty > 0 else -1
        self._entry_ts = ts
        self._entry_bar = bar
        self._entry_qty = q
        self._entry_value = q * price
        self._exit_qty = 0
        self._exit_value = 0.0
        self._gross = 0.0
        self._commission = commission
        self.avg_cost = price

    def _finish(self, bar: int, ts: int) -> None:
        pnl = self._gross - self._commission
        entry_value = self._entry_value
        self.trades.append(
            _new_trade(
                Trade,
                (
                    "long" if self._side > 0 else "short",
                    self._entry_ts,
                    ts,
                    self._entry_bar,
                    bar,
                    entry_value / self._entry_qty,
                    self._exit_value / self._exit_qty,
                    self._entry_qty,
                    pnl,
                    pnl / entry_value * 100.0,
                    self._commission,
                ),
            )
        )
        self._side = 0

    def open_trade(self, mark_price: float) -> dict[str, Any] | None:
        """The round trip still open at the end, marked to ``mark_price`` (not a trade yet)."""
        if self.position == 0:
            return None
        unrealised = (mark_price - self.avg_cost) * self.position
        return {
            "entry_time": ts_to_datetime(self._entry_ts).isoformat(),
            "side": "long" if self._side > 0 else "short",
            "entry_price": round(self._entry_value / self._entry_qty, 2),
            "size": abs(self.position),
            "mark_price": round(mark_price, 2),
            "unrealised_pnl": round(unrealised + self._gross - self._commission, 2),
        }

    def curves(self, close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position, equity) at each bar's close, rebuilt from the fill log with numpy."""
        n = len(close)
        if not self.fills:
            return np.zeros(n), np.full(n, self.initial_cash)
        log = np.array(self.fills, dtype=np.float64)  # bars and quantities are exact in float64
        bars = log[:, 0].astype(np.int64)
        qty, price, comm = log[:, 1], log[:, 2], log[:, 3]
        position = np.cumsum(np.bincount(bars, weights=qty, minlength=n))
        cash_flow = np.bincount(bars, weights=-(qty * price) - comm, minlength=n)
        cash = self.initial_cash + np.cumsum(cash_flow)
        return position, cash + position * close
