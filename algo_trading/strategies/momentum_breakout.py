"""Channel breakout confirmed by volume, with a half-length exit channel and trailing stop."""

from __future__ import annotations

import numpy as np

from ..models import Bar, Fill
from ..params import Param
from ..registry import register
from ..strategy import Strategy


@register
class MomentumBreakout(Strategy):
    """Buy a close above the prior N-bar high on volume > volume_factor x average volume.

    The channel and the average volume use the ``lookback`` bars *before* the current one, so
    the current bar can break out of them. A long exits when the close falls below the prior
    ``lookback // 2``-bar low or ``trailing_stop`` (fraction) below the highest close since
    entry; shorts (when allowed) mirror this.
    """

    name = "momentum_breakout"

    lookback = Param(int, 20, min=2, max=5000, help="entry channel length N, bars")
    volume_factor = Param(float, 1.5, min=0.0, max=100.0, help="volume must exceed this x avg")
    trailing_stop = Param(float, 0.05, min=0.0, max=1.0, help="fraction off the best close; 0=off")
    allow_short = Param(bool, False, help="also sell downside breakouts")

    @property
    def history_size(self) -> int:  # type: ignore[override]
        return self.lookback + 1

    def on_start(self) -> None:
        self._best: float | None = None  # best close since entry (high for longs, low shorts)
        self._exit_n = max(1, self.lookback // 2)

    def on_fill(self, fill: Fill) -> None:
        self._best = fill.price if self.position != 0 else None

    def on_bar(self, bar: Bar) -> None:
        h = self.history
        n = self.lookback
        if len(h) < n + 1:
            return
        highs = h.tail("high", n + 1)[:-1]
        lows = h.tail("low", n + 1)[:-1]
        c = bar.close
        pos = self.position
        if pos == 0:
            if self.open_orders:
                return
            vols = h.tail("volume", n + 1)[:-1]
            if not bar.volume > self.volume_factor * float(np.mean(vols)):
                return
            if c > float(highs.max()):
                self.set_direction(1)
            elif self.allow_short and c < float(lows.min()):
                self.set_direction(-1)
            return
        if self.open_orders:
            return
        m = self._exit_n
        ts = self.trailing_stop
        if pos > 0:
            best = c if self._best is None else max(self._best, c)
            self._best = best
            if c < float(lows[-m:].min()) or (ts > 0 and c <= best * (1.0 - ts)):
                self.close()
        else:
            best = c if self._best is None else min(self._best, c)
            self._best = best
            if c > float(highs[-m:].max()) or (ts > 0 and c >= best * (1.0 + ts)):
                self.close()
