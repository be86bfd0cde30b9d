"""A token bucket: the orders-per-second limit of one account.

Capacity equals the rate, so an account may burst one second's worth of orders and then sustain
the rate. Time comes from the caller (the order's own timestamp), which keeps the check
deterministic and measures the client's rate rather than the worker's catch-up speed.
"""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("rate", "tokens", "stamp")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = float(rate)
        self.tokens = float(rate)
        self.stamp = now

    def set_rate(self, rate: float) -> None:
        """A new limit keeps the tokens already earned, up to the new capacity."""
        self.rate = float(rate)
        if self.tokens > self.rate:
            self.tokens = self.rate

    def take(self, now: float) -> bool:
        """Spend one token if there is one; time running backwards earns nothing."""
        elapsed = now - self.stamp
        if elapsed > 0:
            tokens = self.tokens + elapsed * self.rate
            self.tokens = tokens if tokens < self.rate else self.rate
            self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def usage(self) -> float:
        """Fraction of the capacity spent (0 = full bucket)."""
        if self.rate <= 0:
            return 1.0
        return 1.0 - self.tokens / self.rate
