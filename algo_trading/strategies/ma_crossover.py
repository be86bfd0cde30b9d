"""Moving average crossover: long while the fast average is above the slow one."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

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
        # The per-bar hook is a closure built here and bound as this instance's on_bar: the
        # engine looks the hook up once, after on_start, so the per-bar path has no branch
        # on ``kind`` and reads its state from closure cells, which is cheaper than instance
        # attributes (this hook is most of the event-driven benchmark's time).
        self.on_bar = self._sma_hook() if self.kind == "sma" else self._generic_hook()  # type: ignore[method-assign]

    def on_bar(self, bar: Bar) -> None:
        """Replaced per instance in on_start by the kind-specific hook."""
        raise RuntimeError("MaCrossover.on_bar called before on_start")

    def _sma_hook(self) -> Callable[[Bar], None]:
        """Both SMAs from one running cumulative sum, O(1) per bar.

        A deque of the last slow+1 cumulative sums gives cs[t - slow] (left end) and
        cs[t - fast] (from the right). It starts full of zeros, which is exactly cs[t] for
        t < 0, so the result is bit-identical to ``indicators.sma`` (the vectorised path).
        """
        fast, slow = self.fast, self.slow
        below = -1 if self.allow_short else 0
        set_direction = self.set_direction
        sums = deque([0.0] * (slow + 1), maxlen=slow + 1)
        append = sums.append
        fast_at = -1 - fast
        cs = 0.0
        warm = slow  # bars until both averages exist
        state = 0

        def on_bar(bar: Bar) -> None:
            nonlocal cs, warm, state
            cs = cs + bar.close
            append(cs)
            if warm:
                warm -= 1
                if warm:
                    return
            want = 1 if (cs - sums[fast_at]) / fast > (cs - sums[0]) / slow else below
            if want != state:
                state = want
                set_direction(want)

        return on_bar

    def _generic_hook(self) -> Callable[[Bar], None]:
        """Any kind with incremental indicator objects (EMA), NaN until warmed up."""
        fast_update = make_moving_average(self.fast, self.kind).update
        slow_update = make_moving_average(self.slow, self.kind).update
        below = -1 if self.allow_short else 0
        set_direction = self.set_direction
        state = 0

        def on_bar(bar: Bar) -> None:
            nonlocal state
            c = bar.close
            f = fast_update(c)
            s = slow_update(c)
            if s != s:  # slow average still warming up (NaN)
                return
            want = 1 if f > s else below
            if want != state:
                state = want
                set_direction(want)

        return on_bar

    def target_directions(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        close = arrays["close"]
        f = moving_average(close, self.fast, self.kind)
        s = moving_average(close, self.slow, self.kind)
        out = np.where(f > s, 1, -1 if self.allow_short else 0).astype(np.int8)
        out[: self.slow - 1] = 0
        return out
