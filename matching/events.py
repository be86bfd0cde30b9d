"""Event tuples produced by the engine, their field names, and `describe` for logs and tests.

Events are plain tuples with a leading integer kind because building a tuple is the cheapest
allocation CPython offers and the worker reads them positionally; `describe` turns one into a dict
with named fields when speed no longer matters (logging, tests, debugging).

Layouts (index 0 is always the kind):

    (ACCEPTED,  order_id, symbol)
    (REJECTED,  order_id, reason)
    (FILL,      symbol, price, qty, taker_id, maker_id, taker_account, maker_account,
                taker_side, taker_remaining, maker_remaining)
    (CANCELED,  order_id, remaining, reason)
    (EXPIRED,   order_id, remaining)
    (REPLACED,  order_id, qty, price, remaining, kept_priority)
    (TRIGGERED, order_id, symbol, stop_price, last_price)

``qty`` in REPLACED is the new total order quantity; ``remaining`` is what is still open.
"""

from __future__ import annotations

from typing import Any

from matching.codes import (  # re-exported: the architecture doc points callers here
    BUY,
    DAY,
    FOK,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    SIDE_NAMES,
    STOP,
    STOP_LIMIT,
)

ACCEPTED = 1
REJECTED = 2
FILL = 3
CANCELED = 4
EXPIRED = 5
REPLACED = 6
TRIGGERED = 7

KIND_NAMES: dict[int, str] = {
    ACCEPTED: "accepted",
    REJECTED: "rejected",
    FILL: "fill",
    CANCELED: "canceled",
    EXPIRED: "expired",
    REPLACED: "replaced",
    TRIGGERED: "triggered",
}

FIELDS: dict[int, tuple[str, ...]] = {
    ACCEPTED: ("kind", "order_id", "symbol"),
    REJECTED: ("kind", "order_id", "reason"),
    FILL: (
        "kind",
        "symbol",
        "price",
        "qty",
        "taker_id",
        "maker_id",
        "taker_account",
        "maker_account",
        "taker_side",
        "taker_remaining",
        "maker_remaining",
    ),
    CANCELED: ("kind", "order_id", "remaining", "reason"),
    EXPIRED: ("kind", "order_id", "remaining"),
    REPLACED: ("kind", "order_id", "qty", "price", "remaining", "kept_priority"),
    TRIGGERED: ("kind", "order_id", "symbol", "stop_price", "last_price"),
}

# Reasons carried by REJECTED and CANCELED events. Strings, because they end up verbatim in the
# database (Order.reject_reason) and in execution reports.
R_MALFORMED = "malformed message"
R_UNKNOWN_SYMBOL = "unknown symbol"
R_DUPLICATE_ID = "duplicate order id"
R_BAD_QTY = "qty must be a positive integer"
R_BAD_PRICE = "limit price must be a positive integer number of ticks"
R_BAD_STOP = "stop price must be a positive integer number of ticks"
R_PRICE_NOT_ALLOWED = "a price is not allowed for this order type"
R_STOP_NOT_ALLOWED = "a stop price is not allowed for this order type"
R_BAD_SIDE = "unknown side"
R_BAD_TYPE = "unknown order type"
R_BAD_TIF = "unknown time in force"
R_UNKNOWN_ORDER = "unknown order"
R_QTY_NOT_ABOVE_FILLED = "new qty must exceed the filled qty"
R_NOTHING_TO_REPLACE = "nothing to replace"
R_CROSSES_BOOK = "restored order would cross the book"
R_CANNOT_REST = "this order type cannot rest in the book"

R_USER = "canceled"
R_NO_LIQUIDITY = "no liquidity"
R_IOC = "ioc remainder"
R_FOK = "fok not fillable"
R_STP = "self-trade prevention"

__all__ = [
    "ACCEPTED",
    "BUY",
    "CANCELED",
    "DAY",
    "EXPIRED",
    "FIELDS",
    "FILL",
    "FOK",
    "GTC",
    "IOC",
    "KIND_NAMES",
    "LIMIT",
    "MARKET",
    "REJECTED",
    "REPLACED",
    "SELL",
    "STOP",
    "STOP_LIMIT",
    "TRIGGERED",
    "describe",
]


def describe(event: tuple) -> dict[str, Any]:
    """Return the event as a dict of named fields; ``kind`` (and ``taker_side``) become strings."""
    kind = event[0]
    names = FIELDS.get(kind)
    if names is None or len(names) != len(event):
        raise ValueError(f"not an engine event: {event!r}")
    out = dict(zip(names, event, strict=True))
    out["kind"] = KIND_NAMES[kind]
    if kind == FILL:
        out["taker_side"] = SIDE_NAMES[event[8]]
    return out
