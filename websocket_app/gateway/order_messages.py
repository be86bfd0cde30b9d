"""The /ws/orders/ wire format: client messages in, worker payloads out, reports translated back.

Validation is `services.order_validation.validate_order_request`, the REST API's own, so both
entry points accept and refuse exactly the same orders. Nothing here does I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from trading_app.services.order_validation import (
    InstrumentSpec,
    OrderValidationError,
    replace_changes,
    validate_order_request,
)

__all__ = ["replace_changes"]  # the gateway's replace check is the REST API's

ENVELOPE_KEYS = frozenset({"type", "order_type", "order", "request_id"})
MAX_BATCH = 1_000

Lookup = Callable[[str], InstrumentSpec | None]


def order_fields(message: Mapping[str, Any]) -> Any:
    """The REST order body inside a `submit` message.

    Either nested (`{"type": "submit", "order": {...REST body...}}`) or flat, where the order's
    own type travels as `order_type` because `type` names the message.
    """
    nested = message.get("order")
    if nested is not None:
        return nested
    fields = {k: v for k, v in message.items() if k not in ENVELOPE_KEYS}
    if "order_type" in message:
        fields["type"] = message["order_type"]
    return fields


def batch_order_fields(order: Any) -> Any:
    """An element of `submit_batch.orders`: a REST body (`type` is the order type)."""
    if isinstance(order, Mapping) and "order_type" in order and "type" not in order:
        fields = dict(order)
        fields["type"] = fields.pop("order_type")
        return fields
    return order


def worker_payload(fields: Any, account_id: int, lookup: Lookup) -> dict:
    """Validate and build the worker's P (see docs/architecture.md). Raises OrderValidationError."""
    request = validate_order_request(fields, lookup)
    order_id = str(uuid.uuid4())
    limit, stop = request.limit_price, request.stop_price
    return {
        "id": order_id,
        "account_id": account_id,
        "client_order_id": request.client_order_id or order_id,
        "symbol": request.instrument.symbol,
        "side": request.side,
        "type": request.type,
        "time_in_force": request.time_in_force,
        "qty": request.qty,
        "limit_price": str(limit) if limit is not None else None,
        "stop_price": str(stop) if stop is not None else None,
        "origin": "ws",
    }


def order_reference(message: Mapping[str, Any]) -> dict:
    """`id` or `client_order_id` of a cancel/replace. Raises OrderValidationError."""
    order_id, coid = message.get("id"), message.get("client_order_id")
    if order_id not in (None, ""):
        try:
            return {"id": str(uuid.UUID(str(order_id)))}
        except ValueError:
            raise OrderValidationError({"id": ["must be an order id (a UUID)"]}) from None
    if isinstance(coid, str) and coid:
        return {"client_order_id": coid}
    raise OrderValidationError({"id": ["give the order's id or its client_order_id"]})


def error(code: str, errors: dict | None = None, message: str = "", **extra: Any) -> dict:
    """A gateway error message; the connection stays open. Every error has a `message` (as the
    other streams' errors do); per-field errors also come as `errors`."""
    payload: dict[str, Any] = {"type": "error", "code": code}
    if not message and errors:
        message = "; ".join(
            (f"{field}: " if field != "non_field_errors" else "")
            + str(problems[0] if isinstance(problems, list) and problems else problems)
            for field, problems in errors.items()
        )
    if message:
        payload["message"] = message
    if errors is not None:
        payload["errors"] = errors
    payload.update(extra)
    return payload


def client_update(update: dict) -> dict:
    """A worker report (Alpaca trade_updates shape) or worker error, as the client receives it."""
    if update.get("event") == "error":
        frame = {"type": "error"}
        frame.update(update)
        del frame["event"]
        return frame
    order = update.get("order") or {}
    frame = {"type": "trade_update", "client_order_id": order.get("client_order_id")}
    frame.update(update)
    return frame


def risk_alert_frame(alert: dict) -> dict:
    """A risk alert of the account (trading_app.risk.alerts.build_alert) as the client gets it:
    {"type": "risk_alert", "code", "level": "warning"|"breach", "message", "usage_pct", ...}."""
    frame = {"type": "risk_alert"}
    frame.update(alert)
    return frame
