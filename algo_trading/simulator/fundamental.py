"""The "true" price market makers quote around.

It follows the price feed (``prices.<SYMBOL>`` ticks) when one is running, so the exchange's
book tracks the feed the monitor page shows; when the feed is quiet for ``stale_after``
seconds it carries on as a seeded geometric Brownian motion from where it was, so the
simulator also works on its own.
"""

from __future__ import annotations

import math
import random

#: seconds in a trading year (252 days of 6.5 hours): volatility is annualised over these
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600
MAX_STEP_SECONDS = 10.0


class Fundamental:
    def __init__(
        self,
        price: float,
        rng: random.Random,
        *,
        volatility: float = 1.0,
        stale_after: float = 5.0,
    ) -> None:
        if not price > 0:
            raise ValueError(f"a fundamental price must be positive, got {price!r}")
        self.value = float(price)
        self.rng = rng
        self.sigma = volatility / math.sqrt(TRADING_SECONDS_PER_YEAR)  # per sqrt(second)
        self.stale_after = stale_after
        self.last_feed_at: float | None = None
        self.last_step_at: float | None = None

    @property
    def source(self) -> str:
        return "feed" if self.last_feed_at is not None else "gbm"

    def observe_feed(self, price: float, now: float) -> None:
        if price > 0 and math.isfinite(price):
            self.value = price
            self.last_feed_at = now
            self.last_step_at = now

    def following_feed(self, now: float) -> bool:
        return self.last_feed_at is not None and now - self.last_feed_at < self.stale_after

    def step(self, now: float) -> float:
        """Advance to ``now`` (GBM only when the feed is quiet); returns the value."""
        last = self.last_step_at
        self.last_step_at = now
        if last is None or self.following_feed(now):
            return self.value
        dt = min(max(now - last, 0.0), MAX_STEP_SECONDS)
        if dt > 0:
            shock = self.rng.gauss(0.0, 1.0) * self.sigma * math.sqrt(dt)
            self.value *= math.exp(shock - 0.5 * self.sigma * self.sigma * dt)
        return self.value
