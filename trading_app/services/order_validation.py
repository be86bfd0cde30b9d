"""Validation of an order request, shared by the REST API and the WebSocket gateway.

One function so that both entry points accept and refuse exactly the same orders. It does no
database I/O: the caller passes the instrument lookup, so the WebSocket hot path can use a cache.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from trading_app.models.enums import OrderType, Side, TimeInForce

MAX_QTY = 1_000_000_000
MAX_PRICE = Decimal("1000000000")
MAX_CLIENT_ORDER_ID = 64
# A number written as a string: ASCII digits and at most one point, an optional minus (so that
# "-5" is told "must be greater than zero"). Decimal() alone would also take "1_000", "1e3",
# "NaN" and other scripts' digits ("١٩٠"), none of which a trading client means to send.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
ORDER_FIELDS = (
    "symbol",
    "side",
    "type",
    "qty",
    "limit_price",
    "stop_price",
    "time_in_force",
    "client_order_id",
)


class OrderValidationError(Exception):
    """Field name -> list of messages, the shape DRF uses for a 400."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """What validation needs to know of an instrument (a plain value, cacheable)."""

    id: int
    symbol: str
    tick_size: Decimal
    lot_size: int
    active: bool = True


@dataclass(frozen=True, slots=True)
class OrderRequest:
    instrument: InstrumentSpec
    side: str
    type: str
    time_in_force: str
    qty: int
    limit_price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str | None


def parse_quantity(value: Any, lot_size: int = 1) -> int:
    """A positive whole number of shares, a multiple of the lot size. Raises ValueError."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a positive integer")
    if isinstance(value, int):
        qty = value
    elif isinstance(value, Decimal | float | str):
        text = str(value).strip()
        if isinstance(value, str) and not _PLAIN_NUMBER.match(text):
            raise ValueError("must be a positive integer")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise ValueError("must be a positive integer") from None
        if not dec.is_finite() or dec != dec.to_integral_value():
            raise ValueError("must be a positive integer")
        # Bounds before int(): int(Decimal("1e999999")) takes a minute of CPU.
        if dec <= 0:
            raise ValueError("must be greater than zero")
        if dec > MAX_QTY:
            raise ValueError(f"must be at most {MAX_QTY}")
        qty = int(dec)
    else:
        raise ValueError("must be a positive integer")
    if qty <= 0:
        raise ValueError("must be greater than zero")
    if qty > MAX_QTY:
        raise ValueError(f"must be at most {MAX_QTY}")
    if lot_size > 1 and qty % lot_size:
        raise ValueError(f"must be a multiple of the lot size {lot_size}")
    return qty


def parse_price(value: Any, tick_size: Decimal | None = None) -> Decimal:
    """A positive finite Decimal on the tick grid. Raises ValueError. Floats never reach money."""
    if isinstance(value, bool) or value is None:
        raise ValueError("must be a positive decimal number")
    if isinstance(value, Decimal | int | str):
        text = str(value).strip()
        if isinstance(value, str) and not _PLAIN_NUMBER.match(text):
            raise ValueError("must be a positive decimal number")
        try:
            price = Decimal(text)
        except InvalidOperation:
            raise ValueError("must be a positive decimal number") from None
    elif isinstance(value, float):
        price = Decimal(repr(value))
    else:
        raise ValueError("must be a positive decimal number")
    if not price.is_finite():
        raise ValueError("must be a finite number")
    if price <= 0:
        raise ValueError("must be greater than zero")
    if price >= MAX_PRICE:
        raise ValueError(f"must be less than {MAX_PRICE}")
    if tick_size is not None and price % tick_size != 0:
        raise ValueError(f"must be a multiple of the tick size {tick_size.normalize()}")
    if price.as_tuple().exponent < -6:
        raise ValueError("must have at most 6 decimal places")
    return price


def _choice(value: Any, choices: type, field: str, errors: dict, default: str | None = None):
    if value is None or value == "":
        if default is not None:
            return default
        errors[field] = ["This field is required."]
        return None
    if not isinstance(value, str) or value.lower() not in choices.values:
        errors[field] = [f"must be one of {', '.join(choices.values)}; got {str(value)[:40]!r}"]
        return None
    return value.lower()


def validate_order_request(
    data: Mapping[str, Any], lookup: Callable[[str], InstrumentSpec | None]
) -> OrderRequest:
    """Check every field and cross-field rule; raise OrderValidationError listing all problems."""
    if not isinstance(data, Mapping):
        raise OrderValidationError({"non_field_errors": ["expected a JSON object"]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(ORDER_FIELDS) - {"type_", "id", "extended_hours"})
    if unknown:
        errors["non_field_errors"] = [f"unknown field(s): {', '.join(unknown)}"]

    instrument = None
    symbol = data.get("symbol")
    if symbol in (None, ""):
        errors["symbol"] = ["This field is required."]
    elif not isinstance(symbol, str) or len(symbol) > 16:
        errors["symbol"] = ["must be a symbol such as AAPL"]
    else:
        instrument = lookup(symbol.strip().upper())
        if instrument is None:
            errors["symbol"] = [f"unknown symbol {symbol.strip().upper()!r}"]
        elif not instrument.active:
            errors["symbol"] = [f"{instrument.symbol} is not trading"]
            instrument = None

    side = _choice(data.get("side"), Side, "side", errors)
    order_type = _choice(data.get("type"), OrderType, "type", errors)
    tif = _choice(data.get("time_in_force"), TimeInForce, "time_in_force", errors, "day")

    qty = None
    if data.get("qty") in (None, ""):
        errors["qty"] = ["This field is required."]
    else:
        try:
            qty = parse_quantity(data.get("qty"), instrument.lot_size if instrument else 1)
        except ValueError as exc:
            errors["qty"] = [str(exc)]

    tick = instrument.tick_size if instrument else None
    prices: dict[str, Decimal | None] = {"limit_price": None, "stop_price": None}
    needs = {
        "limit_price": order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT),
        "stop_price": order_type in (OrderType.STOP, OrderType.STOP_LIMIT),
    }
    for field, required in needs.items():
        raw = data.get(field)
        if raw in (None, ""):
            if required:
                errors[field] = [f"is required for a {order_type} order"]
            continue
        if order_type is not None and not required:
            errors[field] = [f"is not allowed for a {order_type} order"]
            continue
        try:
            prices[field] = parse_price(raw, tick)
        except ValueError as exc:
            errors[field] = [str(exc)]

    coid = data.get("client_order_id")
    if coid in (None, ""):
        coid = None
    elif not isinstance(coid, str) or len(coid) > MAX_CLIENT_ORDER_ID or not coid.isprintable():
        errors["client_order_id"] = [
            f"must be a printable string of at most {MAX_CLIENT_ORDER_ID} characters"
        ]

    if errors:
        raise OrderValidationError(errors)
    return OrderRequest(
        instrument=instrument,
        side=side,
        type=order_type,
        time_in_force=tif,
        qty=qty,
        limit_price=prices["limit_price"],
        stop_price=prices["stop_price"],
        client_order_id=coid,
    )


def replace_changes(message: Mapping[str, Any], spec: InstrumentSpec | None) -> dict:
    """The new qty and/or limit price of a replace (REST PATCH and the WebSocket `replace`).

    Raises OrderValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {"qty": None, "limit_price": None}
    if message.get("qty") not in (None, ""):
        try:
            changes["qty"] = parse_quantity(message["qty"], spec.lot_size if spec else 1)
        except ValueError as exc:
            errors["qty"] = [str(exc)]
    if message.get("limit_price") not in (None, ""):
        try:
            price = parse_price(message["limit_price"], spec.tick_size if spec else None)
            changes["limit_price"] = str(price)
        except ValueError as exc:
            errors["limit_price"] = [str(exc)]
    if not errors and changes["qty"] is None and changes["limit_price"] is None:
        errors["non_field_errors"] = ["give qty and/or limit_price"]
    if errors:
        raise OrderValidationError(errors)
    return changes
