"""Instrument specs held in the process, so validating an order never queries the database.

Loaded with one query when a socket connects (at most every `max_age` seconds, shared by every
socket of the process); the per-message path reads a dict.
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async

from trading_app.services.order_validation import InstrumentSpec


def _load() -> dict[str, InstrumentSpec]:
    from trading_app.selectors.instruments import load_instrument_specs

    return load_instrument_specs()


class InstrumentDirectory:
    def __init__(self, max_age: float = 30.0, miss_interval: float = 1.0) -> None:
        self.max_age = max_age
        self.miss_interval = miss_interval
        self.specs: dict[str, InstrumentSpec] = {}
        self._loaded_at = float("-inf")
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def get(self, symbol: str) -> InstrumentSpec | None:
        """The hot-path look-up: a dict read."""
        return self.specs.get(symbol)

    async def refresh(self, force: bool = False) -> None:
        """Reload when older than max_age (or when forced, at most once per miss_interval)."""
        age = time.monotonic() - self._loaded_at
        if age < (self.miss_interval if force else self.max_age):
            return
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            if time.monotonic() - self._loaded_at < (self.miss_interval if force else self.max_age):
                return
            self.specs = await database_sync_to_async(_load)()
            self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")


directory = InstrumentDirectory()
