"""How money is written out: Decimal in, a plain string out, never a float."""

from decimal import Decimal


def format_price(value: Decimal | None) -> str | None:
    """189.500000 -> "189.50": at least two places, no trailing zeros beyond them."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"
