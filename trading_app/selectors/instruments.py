"""Instrument look-ups, cached in-process: instruments change rarely and are read on every order."""

import threading
import time

from trading_app.models import Instrument
from trading_app.services.order_validation import InstrumentSpec

_CACHE_SECONDS = 30.0
_lock = threading.Lock()
_cache: dict[str, InstrumentSpec] = {}
_loaded_at = 0.0


def load_instrument_specs() -> dict[str, InstrumentSpec]:
    return {
        row.symbol: InstrumentSpec(
            id=row.id,
            symbol=row.symbol,
            tick_size=row.tick_size,
            lot_size=row.lot_size,
            active=row.active,
        )
        for row in Instrument.objects.all()
    }


def instrument_spec(symbol: str) -> InstrumentSpec | None:
    """The spec of `symbol`, from a cache refreshed every 30 s (or at once on a miss)."""
    global _loaded_at
    now = time.monotonic()
    spec = _cache.get(symbol)
    if spec is not None and now - _loaded_at < _CACHE_SECONDS:
        return spec
    with _lock:
        fresh = load_instrument_specs()
        _cache.clear()
        _cache.update(fresh)
        _loaded_at = now
    return _cache.get(symbol)


def invalidate_instrument_cache() -> None:
    global _loaded_at
    _loaded_at = 0.0
