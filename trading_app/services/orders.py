"""Order entry and cancel from the REST API: durable first, then handed to the matching worker."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from trading_app.models import OPEN_STATUSES, Account, Order
from trading_app.selectors.instruments import instrument_spec
from trading_app.services.matching_bus import notify_worker
from trading_app.services.order_validation import OrderValidationError, validate_order_request


class OrderNotCancelable(Exception):
    pass


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
