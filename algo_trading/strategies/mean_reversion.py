"""Mean reversion on the z-score of price against its rolling mean."""

from __future__ import annotations

import numpy as np

from ..models import Bar, Fill
from ..params import Param, ParameterError
from ..registry import register
from ..strategy import Strategy


@register
class MeanReversion(Strategy):
    """Buy when price is entry_z standard deviations below its rolling mean; exit on reversion.

    z = (close - mean) / std over the last ``lookback`` closes (population std, current bar
    included). Enter long at z <= -entry_z (short at z >= entry_z when allowed); exit when
    |z| <= exit_z, or when the close is ``stop_loss`` (fraction) against the entry price, or
    ``take_profit`` in favour. Stops are evaluated on closes and exit at the next open: bars
    say nothing about the order in which a bar's high and low traded.
    """

    name = "mean_reversion"

    lookback = Param(int, 20, min=2, max=5000, help="rolling window for mean and std, bars")
    entry_z = Param(float, 2.0, min=0.1, max=10.0, help="enter when |z| reaches this")
    exit_z = Param(float, 0.5, min=0.0, max=10.0, help="exit when |z| falls back to this")
    stop_loss = Param(float, 0.02, min=0.0, max=1.0, help="fraction against entry; 0 = off")
    take_profit = Param(float, 0.01, min=0.0, max=10.0, help="fraction in favour; 0 = off")
    allow_short = Param(bool, False, help="also fade moves above the mean")

    def validate(self) -> None:
        if self.exit_z >= self.entry_z:
            raise ParameterError(
                f"exit_z must be less than entry_z, got exit_z={self.exit_z} entry_z={self.entry_z}"
            )

    @property
    def history_size(self) -> int:  # type: ignore[override]
        return self.lookback

    def on_start(self) -> None:
        self._entry: float | None = None
        self.last_z = float("nan")

    def on_fill(self, fill: Fill) -> None:
        self._entry = fill.price if self.position != 0 else None

    def on_bar(self, bar: Bar) -> None:
        closes = self.history.tail("close", self.lookback)
        if len(closes) < self.lookback:
            return
        std = float(np.std(closes))
        if not std > 0.0:
            return
        c = bar.close
        z = (c - float(np.mean(closes))) / std
        self.last_z = z
        pos = self.position
        if pos == 0:
            if self.open_orders:
                return
            if z <= -self.entry_z:
                self.set_direction(1)
            elif z >= self.entry_z and self.allow_short:
                self.set_direction(-1)
            return
        entry = self._entry if self._entry is not None else c
        move = (c - entry) / entry if pos > 0 else (entry - c) / entry
        if self.open_orders:
            return
        if (
            (pos > 0 and z >= -self.exit_z)
            or (pos < 0 and z <= self.exit_z)
            or (self.stop_loss > 0 and move <= -self.stop_loss)
            or (self.take_profit > 0 and move >= self.take_profit)
        ):
            self.close()
