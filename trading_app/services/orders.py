"""Order entry, cancel and replace from the REST API: durable first (entry, cancel), then handed
to the matching worker, which alone changes an order's state."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from trading_app.models import OPEN_STATUSES, Account, Order
from trading_app.selectors.instruments import instrument_spec
from trading_app.services.matching_bus import notify_worker
from trading_app.services.order_validation import (
    InstrumentSpec,
    OrderValidationError,
    replace_changes,
    validate_order_request,
)


class OrderNotCancelable(Exception):
    pass


class OrderNotReplaceable(Exception):
    pass


class WorkerUnreachable(Exception):
    """The matching worker's inbox did not take a message that has no durable record."""


REPLACEABLE_FIELDS = frozenset({"qty", "limit_price"})
LIMIT_PRICED_TYPES = frozenset({"limit", "stop_limit"})


def submit_order(account: Account, data: Mapping[str, Any], origin: str = "rest") -> Order:
    """Validate, commit as "accepted", then tell the worker. Raises OrderValidationError.

    A repeated client_order_id is refused before anything is written, so a client that retries
    after a timeout can never book the same order twice.
    """
    request = validate_order_request(data, instrument_spec)
    coid = request.client_order_id or str(uuid.uuid4())
    if Order.objects.filter(account=account, client_order_id=coid).exists():
        raise OrderValidationError(
            {"client_order_id": [f"{coid!r} was already used by this account"]}
        )
    order = Order(
        account=account,
        instrument_id=request.instrument.id,
        client_order_id=coid,
        side=request.side,
        type=request.type,
        time_in_force=request.time_in_force,
        qty=request.qty,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        origin=origin,
    )
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            symbol = request.instrument.symbol
            transaction.on_commit(
                lambda: notify_worker(symbol, {"type": "orders.accepted", "ids": [str(order.id)]})
            )
    except IntegrityError:  # a concurrent twin with the same client_order_id won the race
        raise OrderValidationError(
            {"client_order_id": [f"{coid!r} was already used by this account"]}
        ) from None
    return order


def request_cancel(order: Order) -> Order:
    """Record the cancel request durably and ask the worker, which alone changes order state."""
    if order.status not in OPEN_STATUSES:
        raise OrderNotCancelable(f"order is already {order.status}")
    with transaction.atomic():
        updated = Order.objects.filter(pk=order.pk, status__in=OPEN_STATUSES).update(
            cancel_requested=True
        )
        if not updated:
            order.refresh_from_db()
            raise OrderNotCancelable(f"order is already {order.status}")
        symbol = order.instrument.symbol
        transaction.on_commit(
            lambda: notify_worker(symbol, {"type": "order.cancel", "id": str(order.pk)})
        )
    order.refresh_from_db()
    return order


def request_replace(order: Order, data: Mapping[str, Any]) -> Order:
    """Ask the worker to change an open order's qty and/or limit price (Alpaca's PATCH).

    The fields are checked here, as the WebSocket `replace` checks them; the worker then applies
    it in the book's order, or refuses it (a quantity not above what is filled, say), and says
    which on the account's trade_updates stream (`replaced`, or an error). Like a WebSocket
    replace it has no durable record: if the worker's inbox refuses it, WorkerUnreachable.
    """
    if not isinstance(data, Mapping):
        raise OrderValidationError({"non_field_errors": ["expected a JSON object"]})
    unknown = sorted(map(str, set(data) - REPLACEABLE_FIELDS))
    if unknown:
        raise OrderValidationError(
            {
                name: ["cannot be replaced: a replace changes qty and/or limit_price"]
                for name in unknown
            }
        )
    instrument = order.instrument
    spec = InstrumentSpec(
        id=instrument.id,
        symbol=instrument.symbol,
        tick_size=instrument.tick_size,
        lot_size=instrument.lot_size,
    )
    changes = replace_changes(data, spec)
    if changes["limit_price"] is not None and order.type not in LIMIT_PRICED_TYPES:
        raise OrderValidationError({"limit_price": [f"a {order.type} order has no limit price"]})
    if order.status not in OPEN_STATUSES or order.cancel_requested:
        state = "being canceled" if order.status in OPEN_STATUSES else order.status
        raise OrderNotReplaceable(f"order is already {state}")
    message = {"type": "order.replace", "id": str(order.pk), "account_id": order.account_id}
    if not notify_worker(instrument.symbol, {**message, **changes}):
        raise WorkerUnreachable("the exchange did not take the replace; try again")
    return order
