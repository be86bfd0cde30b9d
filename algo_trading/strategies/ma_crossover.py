"""Moving average crossover: long while the fast average is above the slow one."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from ..indicators import make_moving_average, moving_average
from ..models import Bar
from ..params import Param, ParameterError
from ..registry import register
from ..strategy import Strategy


@register
class MaCrossover(Strategy):
    """Long when the fast moving average is above the slow one, flat (or short) otherwise."""

    name = "ma_crossover"

    fast = Param(int, 10, min=1, max=500, help="fast moving average length, bars")
    slow = Param(int, 30, min=2, max=2000, help="slow moving average length, bars")
    kind = Param(str, "sma", choices=("sma", "ema"), help="simple or exponential average")
    allow_short = Param(bool, False, help="short (instead of flat) when fast <= slow")

    vectorisable = True

    def validate(self) -> None:
        if self.fast >= self.slow:
            raise ParameterError(
                f"fast must be less than slow, got fast={self.fast} slow={self.slow}"
            )

    @property
    def history_size(self) -> int:  # type: ignore[override]
        return self.slow

    def on_start(self) -> None:
        self._below = -1 if self.allow_short else 0
        self._state = 0
        if self.kind == "sma":
            # Both SMAs share one running cumulative sum; a deque of the last slow+1 sums
            # gives cs[t - slow] (left end) and cs[t - fast] (from the right) in O(1).
            # Pre-filled with zeros, which is exactly cs[t] for t < 0. Bit-identical to
            # indicators.sma, which the vectorised path uses.
            self._cs = 0.0
            self._sums = deque([0.0] * (self.slow + 1), maxlen=self.slow + 1)
            self._fast_at = -1 - self.fast
            self._warm = self.slow
            self._nf, self._ns = self.fast, self.slow  # plain attributes: Params are descriptors
            # Bind the specialised hook as this instance's on_bar: the engine looks the hook
            # up once after on_start, so the per-bar path has no branch on ``kind``.
            self.on_bar = self._on_bar_sma  # type: ignore[method-assign]
        else:
            self._fast_update = make_moving_average(self.fast, self.kind).update
            self._slow_update = make_moving_average(self.slow, self.kind).update
            self.on_bar = self._on_bar_generic  # type: ignore[method-assign]

    def on_bar(self, bar: Bar) -> None:
        """Replaced per instance in on_start by the kind-specific version."""
        raise RuntimeError("MaCrossover.on_bar called before on_start")

    def _on_bar_sma(self, bar: Bar) -> None:
        cs = self._cs + bar.close
        self._cs = cs
        sums = self._sums
        sums.append(cs)
        if self._warm:
            self._warm -= 1
            if self._warm:
                return
        f = (cs - sums[self._fast_at]) / self._nf
        s = (cs - sums[0]) / self._ns
        want = 1 if f > s else self._below
        if want != self._state:
            self._state = want
            self.set_direction(want)

    def _on_bar_generic(self, bar: Bar) -> None:
        c = bar.close
        f = self._fast_update(c)
        s = self._slow_update(c)
        if s != s:  # slow average still warming up (NaN)
            return
        want = 1 if f > s else self._below
        if want != self._state:
            self._state = want
            self.set_direction(want)

    def target_directions(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        close = arrays["close"]
        f = moving_average(close, self.fast, self.kind)
        s = moving_average(close, self.slow, self.kind)
        out = np.where(f > s, 1, -1 if self.allow_short else 0).astype(np.int8)
        out[: self.slow - 1] = 0
        return out
