"""Instrument specs and accounts for live sessions, read once from the database (sync ORM)."""

from __future__ import annotations

from collections.abc import Iterable

from ..live.orders import InstrumentSpec


def load_specs(symbols: Iterable[str] | None = None) -> dict[str, InstrumentSpec]:
    """Active instruments (or the named ones, active or not), keyed by symbol."""
    from trading_app.models import Instrument

    rows = Instrument.objects.all()
    if symbols is not None:
        rows = rows.filter(symbol__in=[s.upper() for s in symbols])
    else:
        rows = rows.filter(active=True)
    return {
        row.symbol: InstrumentSpec(
            symbol=row.symbol,
            tick_size=row.tick_size.normalize(),
            lot_size=row.lot_size,
            reference_price=row.mark_price,
        )
        for row in rows.order_by("symbol")
        if row.active or symbols is not None
    }


def active_spec(symbol: str) -> InstrumentSpec:
    """The spec of one tradable symbol; ValueError naming the choices otherwise."""
    from trading_app.models import Instrument

    symbol = symbol.strip().upper()
    spec = load_specs([symbol]).get(symbol)
    if spec is None or not Instrument.objects.filter(symbol=symbol, active=True).exists():
        known = ", ".join(load_specs()) or "none (run manage.py bootstrap_demo)"
        raise ValueError(f"unknown or inactive symbol {symbol!r}; tradable: {known}")
    return spec
