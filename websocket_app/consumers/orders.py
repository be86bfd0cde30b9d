"""/ws/orders/: order entry over a WebSocket, and the account's execution reports back.

The hot path (`on_frame` → `_submit`) is synchronous: parse with orjson, validate against the
in-process instrument specs, queue on the order pipe. No thread hop, no database access; the
matching worker writes the order in its next batch and its first report is the acknowledgement.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from trading_app.groups import account_group
from trading_app.services.order_validation import OrderValidationError
from websocket_app.gateway import codes
from websocket_app.gateway.connection import GatewayConsumer
from websocket_app.gateway.hub import get_hub
from websocket_app.gateway.instruments import directory
from websocket_app.gateway.jsonwire import JSONDecodeError, dumps, loads
from websocket_app.gateway.order_messages import (
    MAX_BATCH,
    batch_order_fields,
    client_update,
    error,
    order_fields,
    order_reference,
    replace_changes,
    risk_alert_frame,
    worker_payload,
)
from websocket_app.gateway.order_pipe import get_pipe

log = logging.getLogger("tradingsim.gateway")
ROUTE_MEMORY = 50_000  # orders whose symbol a socket remembers (cancel routing across shards)


def _account_id(user) -> int:
    from trading_app.services.accounts import account_for_user

    return account_for_user(user).pk


def _symbol_of(account_id: int, reference: dict) -> str | None:
    from trading_app.models import Order

    rows = Order.objects.filter(account_id=account_id, **reference)
    return rows.values_list("instrument__symbol", flat=True).first()


class OrdersConsumer(GatewayConsumer):
    outbox_limit = 20_000

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            self.push(
                dumps(
                    error(
                        "unauthenticated",
                        message="send a token (?token= or Authorization: Token ...) or log in",
                    )
                )
            )
            await self.close(codes.UNAUTHENTICATED, "authentication required")
            return
        self.account_id = await database_sync_to_async(_account_id)(user)
        await directory.refresh()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.batched = query.get("format", [""])[0] == "batch"
        self.group = account_group(self.account_id)
        self.hub = get_hub()
        self.pipe = get_pipe()
        self.routes: dict[str, str] = {}  # order id / client_order_id -> symbol (shards > 1)
        self.frames_in = 0
        await self.hub.join(self.group, self)
        self.joined = True
        await self.accept()
        self.push(
            dumps(
                {
                    "type": "authorized",
                    "account_id": self.account_id,
                    "username": user.get_username(),
                    "symbols": sorted(directory.specs),
                }
            )
        )

    async def disconnect(self, code: int | None) -> None:
        if getattr(self, "joined", False):
            self.joined = False
            await self.hub.leave(self.group, self)

    # ------------------------------------------------------------------ client -> worker

    def on_frame(self, data: str | bytes):
        self.frames_in += 1
        try:
            message = loads(data)
        except JSONDecodeError as exc:
            self.push(dumps(error("malformed_json", {"non_field_errors": [str(exc)]})))
            return None
        if not isinstance(message, dict):
            self.push(dumps(error("invalid_message", {"non_field_errors": ["expected an object"]})))
            return None
        kind = message.get("type")
        if kind == "submit":
            self._submit(order_fields(message))
        elif kind == "submit_batch":
            self._submit_batch(message)
        elif kind == "cancel":
            return self._control(message, "order.cancel")
        elif kind == "replace":
            return self._control(message, "order.replace")
        elif kind == "ping":
            self.push(dumps({"type": "pong", "id": message.get("id")}))
        else:
            self.push(
                dumps(
                    error(
                        "unknown_type",
                        {"type": ["must be submit, submit_batch, cancel, replace or ping"]},
                    )
                )
            )
        return None

    def _submit(self, fields, index: int | None = None) -> bool:
        try:
            payload = worker_payload(fields, self.account_id, directory.get)
        except OrderValidationError as exc:
            coid = fields.get("client_order_id") if isinstance(fields, dict) else None
            extra = {"index": index} if index is not None else {}
            self.push(dumps(error("invalid_order", exc.errors, client_order_id=coid, **extra)))
            return False
        if self.pipe.shards > 1:
            self._remember(payload)
        self.pipe.submit(payload, self._not_handed_over)
        return True

    def _submit_batch(self, message: dict) -> None:
        orders = message.get("orders")
        if not isinstance(orders, list) or not orders:
            self.push(dumps(error("invalid_batch", {"orders": ["must be a non-empty list"]})))
            return
        if len(orders) > MAX_BATCH:
            self.push(
                dumps(error("invalid_batch", {"orders": [f"at most {MAX_BATCH} orders a frame"]}))
            )
            return
        for index, order in enumerate(orders):
            self._submit(batch_order_fields(order), index)

    def _control(self, message: dict, kind: str):
        try:
            reference = order_reference(message)
            symbol = self._route(message, reference)
            spec = directory.get(symbol) if symbol else None
            changes = replace_changes(message, spec) if kind == "order.replace" else {}
        except OrderValidationError as exc:
            self.push(
                dumps(
                    error(
                        "invalid_" + kind.split(".")[1],
                        exc.errors,
                        id=message.get("id"),
                        client_order_id=message.get("client_order_id"),
                    )
                )
            )
            return None
        worker_message = {"type": kind, "account_id": self.account_id, **reference, **changes}
        if self.pipe.shards == 1 or symbol is not None:
            self.pipe.control(self.pipe.shard(symbol or ""), worker_message, self._not_handed_over)
            return None
        return self._control_after_lookup(worker_message, reference)

    async def _control_after_lookup(self, worker_message: dict, reference: dict) -> None:
        """Shards > 1 and an order this socket has not seen: one query finds its symbol."""
        symbol = await database_sync_to_async(_symbol_of)(self.account_id, reference)
        if symbol is None:
            self.push(
                dumps(error("unknown_order", message="no such order for this account", **reference))
            )
            return
        self.pipe.control(self.pipe.shard(symbol), worker_message, self._not_handed_over)

    def _route(self, message: dict, reference: dict) -> str | None:
        if isinstance(message.get("symbol"), str):
            return message["symbol"].strip().upper()
        key = reference.get("id") or reference.get("client_order_id")
        return self.routes.get(key)

    def _remember(self, payload: dict) -> None:
        routes = self.routes
        if len(routes) >= ROUTE_MEMORY:
            for key in list(routes)[: ROUTE_MEMORY // 2]:
                del routes[key]
        routes[payload["id"]] = routes[payload["client_order_id"]] = payload["symbol"]

    def _not_handed_over(self, item: dict, code: str, detail: str) -> None:
        self.push(
            dumps(
                error(
                    code,
                    message=detail,
                    id=item.get("id"),
                    client_order_id=item.get("client_order_id"),
                )
            )
        )

    # ------------------------------------------------------------------ worker -> client

    def deliver(self, group: str, message: dict) -> None:
        kind = message.get("type")
        if kind == "risk.alert":
            self.push(dumps(risk_alert_frame(message.get("alert") or {})))
            return
        if kind != "trade.updates":
            return
        updates = message.get("updates") or ()
        if self.batched:
            self.push(
                dumps({"type": "trade_updates", "updates": [client_update(u) for u in updates]})
            )
            return
        for update in updates:
            self.push(dumps(client_update(update)))
