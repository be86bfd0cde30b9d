"""BacktestResult: what a run produced, and its JSON form.

Money in the JSON is rounded to cents (prices included) and times are ISO 8601 UTC; the
in-memory arrays keep full float precision for further analysis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .ledger import Trade
from .metrics import json_safe


@dataclass
class BacktestResult:
    strategy: str
    params: dict[str, Any]
    symbol: str
    engine: str
    settings: dict[str, Any]
    metrics: dict[str, Any]
    trades: list[Trade]
    index: pd.DatetimeIndex
    close: np.ndarray
    equity_values: np.ndarray
    position_values: np.ndarray
    open_position: dict[str, Any] | None = None
    orders_submitted: int = 0
    open_orders: int = 0
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    # ----- series views -----------------------------------------------------------------
    @property
    def equity(self) -> pd.Series:
        return pd.Series(self.equity_values, index=self.index, name="equity")

    @property
    def position(self) -> pd.Series:
        return pd.Series(self.position_values.astype(np.int64), index=self.index, name="position")

    @property
    def buy_hold(self) -> pd.Series:
        """Equity of putting all starting cash in at the first close and holding."""
        values = self.settings["cash"] * self.close / self.close[0]
        return pd.Series(values, index=self.index, name="buy_hold")

    @property
    def bars(self) -> int:
        return len(self.close)

    def trades_frame(self) -> pd.DataFrame:
        return pd.DataFrame([t.to_dict() for t in self.trades])

    def trade_signature(self) -> list[tuple[Any, ...]]:
        """(side, entry bar, exit bar, size, entry price, exit price): to compare engines."""
        return [
            (t.side, t.entry_bar, t.exit_bar, t.size, t.entry_price, t.exit_price)
            for t in self.trades
        ]

    # ----- serialisation ----------------------------------------------------------------
    def to_dict(self, max_equity_points: int | None = None, include_trades: bool = True) -> dict:
        """JSON-ready dict. ``max_equity_points`` thins the curve evenly (first/last kept)."""
        n = len(self.equity_values)
        if max_equity_points is not None and 0 < max_equity_points < n:
            idx = np.unique(np.linspace(0, n - 1, max_equity_points).round().astype(np.int64))
        else:
            idx = np.arange(n)
        times = self.index[idx]
        if times.tz is None:
            times = times.tz_localize("UTC")
        stamps = [t.isoformat() for t in times]
        values = np.round(self.equity_values[idx], 2).tolist()
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "params": self.params,
            "symbol": self.symbol,
            "engine": self.engine,
            "settings": self.settings,
            "start": stamps[0] if stamps else None,
            "end": stamps[-1] if stamps else None,
            "bars": n,
            "metrics": self.metrics,
            "open_position": self.open_position,
            "orders_submitted": self.orders_submitted,
            "open_orders": self.open_orders,
            "elapsed_s": round(self.elapsed_s, 4),
            "equity_curve": [[t, v] for t, v in zip(stamps, values, strict=True)],
        }
        if include_trades:
            out["trades"] = [t.to_dict() for t in self.trades]
        return json_safe(out)

    def to_json(self, max_equity_points: int | None = None, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(max_equity_points), indent=indent, allow_nan=False)

    # ----- reports (matplotlib is imported only when asked) -----------------------------
    def plot_png(self, path: str | Path | None = None) -> bytes:
        """Price with entries/exits, equity vs buy-and-hold, drawdown; PNG bytes."""
        from .report import render_png

        png = render_png(self)
        if path is not None:
            Path(path).write_bytes(png)
        return png

    def to_html(self, png: bytes | None = None) -> str:
        """Self-contained HTML report (metrics, trades, chart embedded as base64).

        ``png``: the chart from ``plot_png()``, if already rendered (rendering is the slow part).
        """
        from .report import render_html

        return render_html(self, png)

    def save_html(self, path: str | Path, png: bytes | None = None) -> Path:
        target = Path(path)
        target.write_text(self.to_html(png), encoding="utf-8")
        return target
