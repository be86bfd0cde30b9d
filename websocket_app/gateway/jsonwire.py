"""JSON on the wire with orjson: several times faster than the stdlib on the hot path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # money stays a decimal string, never a float
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(payload: Any) -> str:
    """A text frame (browsers get a string, not a Blob)."""
    return orjson.dumps(payload, default=_default).decode()


def loads(data: str | bytes) -> Any:
    """Raises JSONDecodeError (a ValueError) on malformed input."""
    return orjson.loads(data)
