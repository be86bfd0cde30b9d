"""Decimal prices <-> integer ticks.

Prices are Decimal at the edges (API, database) and integer ticks inside the engine, so the book
never compares or adds money as floats. Conversion is exact or it fails: a price that is not a
multiple of the tick size is an input error the API turns into a 400, never something to round.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def to_ticks(price: Decimal, tick_size: Decimal) -> int:
    """Return ``price / tick_size`` as an int; ValueError if off-tick, non-finite or tick <= 0."""
    try:
        price = Decimal(price)
        tick_size = Decimal(tick_size)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"not a decimal price: {price!r}") from exc
    if not price.is_finite() or not tick_size.is_finite():
        raise ValueError("price and tick size must be finite")
    if tick_size <= 0:
        raise ValueError(f"tick size must be positive, got {tick_size}")
    try:
        quotient, remainder = divmod(price, tick_size)
    except InvalidOperation as exc:  # quotient too large for the context precision
        raise ValueError(f"{price} is out of range for the tick size {tick_size}") from exc
    if remainder != 0:
        raise ValueError(f"{price} is not a multiple of the tick size {tick_size}")
    return int(quotient)


def from_ticks(ticks: int, tick_size: Decimal) -> Decimal:
    """Return the Decimal price of ``ticks``; it carries the tick size's decimal places (exact)."""
    tick_size = Decimal(tick_size)
    if not tick_size.is_finite() or tick_size <= 0:
        raise ValueError(f"tick size must be positive, got {tick_size}")
    if ticks.__class__ is not int:
        raise ValueError(f"ticks must be an int, got {ticks!r}")
    return Decimal(ticks) * tick_size
