"""The one interface every market data source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from trading_app.market_data.ticks import Bar, ProviderError, Tick


class MarketDataProvider(ABC):
    """A source of ticks. `fetch` must never block the event loop: blocking I/O goes to a thread.

    `fetch` returns only ticks that are new since the previous call (an unchanged quote is not a
    tick), so that "no tick for N seconds" means the source went stale. It raises ProviderError
    when the source cannot answer at all.
    """

    name: str = "provider"
    #: seconds between two fetches while this provider is the active one
    interval: float = 1.0

    @abstractmethod
    async def fetch(self, symbols: Sequence[str]) -> list[Tick]:
        """New ticks for `symbols` (possibly none); ProviderError if the source is down."""

    def follow(self, ticks: Sequence[Tick]) -> None:
        """Ticks another provider published while this one stood by (see FailoverFeed.follow).

        A source that makes its own prices (the simulation) continues from them when it takes
        over, so a failover is not a jump back to where it was; a real source ignores them.
        """
        return None

    async def history(
        self, symbol: str, start: datetime, end: datetime, interval: str = "1d"
    ) -> list[Bar]:
        """Historical bars; only sources with a history implement it."""
        raise ProviderError(f"{self.name} has no historical bars")
