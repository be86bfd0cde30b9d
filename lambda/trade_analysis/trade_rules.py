"""What a valid trade CSV field is: the slow, thorough checks.

The hot loop in trade_stats never parses a field itself; it looks fields up in caches that only
this module's checks may fill. Keeping the rules here, apart from the loop, means there is one
definition of "valid" for both paths and it can be tested on its own.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

HEADER = (
    "trade_id",
    "timestamp",
    "ticker",
    "side",
    "price",
    "quantity",
    "account",
    "order_id",
    "source",
)

# Side spellings accepted (compared case-insensitively) -> 0 buy, 1 sell.
SIDES = {"buy": 0, "sell": 1}

# Plain decimal notation only: no sign, exponent, whitespace or digit separators. An exporter that
# writes anything else has a bug worth seeing in the malformed-row report.
_PRICE_RE = re.compile(r"(\d{1,15})(?:\.(\d{1,12}))?\Z", re.ASCII)
_QTY_RE = re.compile(r"\d{1,15}\Z", re.ASCII)
_TICKER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/^=:]{0,31}\Z", re.ASCII)
# The canonical form, whose string order is time order: YYYY-MM-DDTHH:MM:SS.ffffffZ (27 chars).
_CANONICAL_TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z", re.ASCII)
CANONICAL_TS_LEN = 27
MINUTE_PREFIX_LEN = 17  # "YYYY-MM-DDTHH:MM:"


class RowError(ValueError):
    """A field is not valid; the message is the reason shown in the malformed-row report."""


def parse_price(text: str) -> int:
    """Check a price (plain decimal notation, > 0) and return its number of decimal places.

    The value itself is not needed here: prices are summed later, per distinct string.
    """
    match = _PRICE_RE.match(text)
    if match is None:
        raise RowError(f"bad price {text!r}")
    if not text.strip("0."):
        raise RowError(f"price must be positive, got {text!r}")
    fraction = match.group(2)
    return len(fraction) if fraction else 0


def parse_quantity(text: str) -> int:
    """Return the quantity: a positive integer of at most 15 digits."""
    if _QTY_RE.match(text) is None:
        if text[:1] == "-" and _QTY_RE.match(text[1:]):
            raise RowError(f"quantity must be positive, got {text!r}")
        raise RowError(f"bad quantity {text!r}")
    quantity = int(text)
    if not quantity:
        raise RowError(f"quantity must be positive, got {text!r}")
    return quantity


def parse_side(text: str) -> int:
    """Return 0 for buy, 1 for sell."""
    side = SIDES.get(text.lower())
    if side is None:
        raise RowError(f"unknown side {text!r}")
    return side


def check_ticker(text: str) -> str:
    """Tickers are kept as written (case matters) but must look like a symbol."""
    if _TICKER_RE.match(text) is None:
        raise RowError(f"bad ticker {text!r}")
    return text


def canonical_timestamp(text: str) -> str:
    """Return the timestamp as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC.

    The exporter writes that form already; other ISO 8601 spellings (no fraction, +00:00, other
    offsets) are converted so that string comparison stays time comparison. A timestamp without
    an offset is taken as UTC, the contract's zone.
    """
    if _CANONICAL_TS_RE.match(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise RowError(f"bad timestamp {text!r}") from None
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(f"bad timestamp {text!r}") from None
    if len(text) < 16 or text[10] not in "Tt ":
        raise RowError(f"bad timestamp {text!r}: expected date and time")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_day(text: object) -> date:
    """Parse an analysis date, strictly YYYY-MM-DD."""
    if not isinstance(text, str) or re.fullmatch(r"\d{4}-\d\d-\d\d", text, re.ASCII) is None:
        raise ValueError(f"Invalid date {text!r}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Invalid date {text!r}: no such day") from None
