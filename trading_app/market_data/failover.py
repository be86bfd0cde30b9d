"""An ordered list of providers behaving as one: the first healthy one answers.

A provider is skipped when it raises or goes stale (no new tick for `stale_after` seconds). A
skipped provider of higher priority is probed again every `retry_after` seconds in a background
task (so a slow network never stalls the ticks of the provider standing in) and takes over again
once it delivers ticks. Every switch is logged and queued as a `feed.status` message so that the
publisher can show it on the price stream; the ticks' `source` changes with it. The published
ticks are shown to the standby providers (`follow`): a simulation taking over continues from the
last published price rather than from its own stale level.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from trading_app.market_data.base import MarketDataProvider
from trading_app.market_data.ticks import Tick

log = logging.getLogger("tradingsim.feed")


@dataclass(slots=True)
class _Health:
    provider: MarketDataProvider
    state: str = "up"  # "up": usable; "down": errored or stale, waiting for retry_at
    error: str | None = None
    since: float | None = None  # when it was first asked (staleness grace)
    last_tick_at: float | None = None
    retry_at: float = 0.0
    failures: int = 0
    probe: asyncio.Task | None = None
    pending: list[Tick] = field(default_factory=list)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


class FailoverFeed:
    """Fetches from the first usable provider; reports every switch (see `pop_switches`)."""

    def __init__(
        self,
        providers: Sequence[MarketDataProvider],
        *,
        stale_after: float = 30.0,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not providers:
            raise ValueError("FailoverFeed needs at least one provider")
        self.health = [_Health(p) for p in providers]
        self.stale_after = stale_after
        self.retry_after = retry_after
        self.clock = clock
        self.active: int | None = None
        self.started = False
        self.switch_count = 0
        self._switches: list[dict] = []

    # ------------------------------------------------------------------------------ queries

    @property
    def providers(self) -> list[MarketDataProvider]:
        return [h.provider for h in self.health]

    @property
    def active_name(self) -> str | None:
        return None if self.active is None else self.health[self.active].provider.name

    @property
    def interval(self) -> float:
        """Seconds until the next fetch: the active provider's pace (the fastest when none)."""
        if self.active is not None:
            return self.health[self.active].provider.interval
        return min(h.provider.interval for h in self.health)

    def status(self) -> dict:
        now = self.clock()
        return {
            "active": self.active_name,
            "switches": self.switch_count,
            "providers": [
                {
                    "name": h.provider.name,
                    "state": h.state,
                    "error": h.error,
                    "failures": h.failures,
                    "last_tick_age_seconds": (
                        None if h.last_tick_at is None else round(now - h.last_tick_at, 1)
                    ),
                }
                for h in self.health
            ],
        }

    def pop_switches(self) -> list[dict]:
        """The switch events since the last call (oldest first)."""
        events, self._switches = self._switches, []
        return events

    # ------------------------------------------------------------------------------ fetching

    async def fetch(self, symbols: Sequence[str]) -> list[Tick]:
        now = self.clock()
        self._harvest_probes(now)
        self._start_probes(symbols, now)
        for index, health in enumerate(self.health):
            if health.state == "up" and health.pending:
                ticks, health.pending = health.pending, []
                self._switch(index, f"{health.provider.name} recovered")
                return ticks
            if health.state == "down":
                # A down source is asked directly only when no healthy source stands in
                # (higher-priority ones are probed in the background instead).
                retry_due = health.probe is None and now >= health.retry_at
                if not retry_due or self._active_is_up():
                    continue
            ticks = await self._try(index, symbols, now)
            if ticks is None:
                continue
            if self.active != index:
                reason = None if self.started else "start"
                self._switch(index, reason)
            return ticks
        if self.active is not None:
            self._switch(None, "every provider is down")
        return []

    async def _try(self, index: int, symbols: Sequence[str], now: float) -> list[Tick] | None:
        """The provider's ticks, or None after marking it down (error or stale)."""
        health = self.health[index]
        if health.since is None:
            health.since = now
        try:
            ticks = await health.provider.fetch(symbols)
        except Exception as exc:  # a provider bug must fail over too, not kill the feed
            self._mark_down(index, _describe(exc), now)
            return None
        if ticks:
            health.last_tick_at = now
            if health.state == "down":
                health.state, health.error = "up", None
            return ticks
        quiet_since = health.last_tick_at if health.last_tick_at is not None else health.since
        if now - quiet_since > self.stale_after or health.state == "down":
            self._mark_down(index, f"stale: no new tick for {now - quiet_since:.0f}s", now)
            return None
        return ticks

    def _active_is_up(self) -> bool:
        return self.active is not None and self.health[self.active].state == "up"

    def _mark_down(self, index: int, reason: str, now: float) -> None:
        health = self.health[index]
        health.state, health.error = "down", reason
        health.retry_at = now + self.retry_after
        health.failures += 1
        log.warning(
            "market data provider %s is down (%s); retrying in %.0fs",
            health.provider.name,
            reason,
            self.retry_after,
        )

    def _switch(self, index: int | None, reason: str | None) -> None:
        previous = self.active_name
        if reason is None:
            if previous is None:
                reason = f"{self.health[index].provider.name} available again"
            else:
                reason = self.health[self.active].error or "switched"
        self.active = index
        current = self.active_name
        if reason == "start":
            self.started = True
            log.info("price feed source: %s", current)
        else:
            self.switch_count += 1
            log.warning("price feed switched from %s to %s: %s", previous, current, reason)
        self._switches.append(
            {
                "type": "feed.status",
                "event": "switch",
                "provider": current,
                "previous": previous,
                "reason": reason,
                "timestamp": datetime.now(UTC).isoformat(),
                "providers": self.status()["providers"],
            }
        )

    def follow(self, ticks: Sequence[Tick]) -> None:
        """Show the published ticks to every provider but their own source (`run_feed` calls
        this after each publish), so that a standby simulation takes over from the last price
        instead of from wherever it stood when it was last active."""
        if not ticks:
            return
        for health in self.health:
            provider = health.provider
            others = [t for t in ticks if t.source != provider.name]
            if others:
                provider.follow(others)

    # ------------------------------------------------------------------------------ probes

    def _start_probes(self, symbols: Sequence[str], now: float) -> None:
        """Re-ask down providers that outrank the active one, without waiting for them."""
        if self.active is None:
            return
        for health in self.health[: self.active]:
            if health.state == "down" and health.probe is None and now >= health.retry_at:
                health.probe = asyncio.ensure_future(health.provider.fetch(list(symbols)))

    def _harvest_probes(self, now: float) -> None:
        for index, health in enumerate(self.health):
            task = health.probe
            if task is None or not task.done():
                continue
            health.probe = None
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is not None:
                self._mark_down(index, _describe(exc), now)
            elif task.result():
                health.state, health.error = "up", None
                health.last_tick_at = now
                health.pending = task.result()
            else:
                self._mark_down(index, "stale: still no new tick", now)

    async def aclose(self) -> None:
        """Cancel the probes still running (a hung yfinance call must not outlive the feed)."""
        probes = [h.probe for h in self.health if h.probe is not None]
        for task in probes:
            task.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
