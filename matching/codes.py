"""Integer codes for sides, order types, times in force and order statuses.

The engine works on small ints because comparing ints is the cheapest thing CPython does in a hot
loop; the API, the database and the logs speak strings. The maps here are the one place where the
two meet, so that a typo in either direction is a KeyError at the edge and never a silent mismatch
inside the book.
"""

from __future__ import annotations

# Sides.
BUY = 1
SELL = 2

# Order types.
LIMIT = 1
MARKET = 2
STOP = 3
STOP_LIMIT = 4

# Times in force.
GTC = 1
DAY = 2
IOC = 3
FOK = 4

# Statuses of a live order as the engine sees it (finished orders are forgotten).
NEW = 1
PARTIALLY_FILLED = 2
PENDING_TRIGGER = 3  # an untriggered stop; the database keeps it as "new"

# Message kinds for Engine.process (the batch entry point); see docs/matching.md for layouts.
SUBMIT = 1
CANCEL = 2
REPLACE = 3
EXPIRE = 4

SIDES: dict[str, int] = {"buy": BUY, "sell": SELL}
ORDER_TYPES: dict[str, int] = {
    "limit": LIMIT,
    "market": MARKET,
    "stop": STOP,
    "stop_limit": STOP_LIMIT,
}
TIFS: dict[str, int] = {"gtc": GTC, "day": DAY, "ioc": IOC, "fok": FOK}
STATUSES: dict[str, int] = {
    "new": NEW,
    "partially_filled": PARTIALLY_FILLED,
    "pending_trigger": PENDING_TRIGGER,
}

SIDE_NAMES: dict[int, str] = {v: k for k, v in SIDES.items()}
ORDER_TYPE_NAMES: dict[int, str] = {v: k for k, v in ORDER_TYPES.items()}
TIF_NAMES: dict[int, str] = {v: k for k, v in TIFS.items()}
STATUS_NAMES: dict[int, str] = {v: k for k, v in STATUSES.items()}


def opposite(side: int) -> int:
    """The other side of the book (used by callers that mirror an order, e.g. tests)."""
    return SELL if side == BUY else BUY
