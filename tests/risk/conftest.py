"""Fixtures for the risk suite: a worker run in-process, and one way to submit per order path.

`path` runs a test twice: through the REST API (POST /api/orders/, then the worker's scan of
accepted orders) and through the worker's channel-message path (`orders.submit`, what the
WebSocket gateway sends).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from trading_app.matching_worker.worker import MatchingWorker
from trading_app.models import Order, RiskLimits


@pytest.fixture
def worker(instruments, settings):
    settings.SESSION_END_UTC = ""
    w = MatchingWorker()
    w.recover()
    return w


def set_limits(account, **limits) -> None:
    RiskLimits.objects.update_or_create(account=account, defaults=limits)


def payload(account, **fields) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "account_id": account.id,
        "client_order_id": f"c-{uuid.uuid4().hex[:12]}",
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "time_in_force": "gtc",
        "qty": 10,
        "limit_price": "190.00",
        "stop_price": None,
        "origin": "ws",
    }
    body.update(fields)
    return body


class Submitter:
    """Submit orders through one path and run the worker; read the outcome back from the DB."""

    def __init__(self, path: str, worker, make_client):
        self.path, self.worker, self.make_client = path, worker, make_client

    def many(self, user, orders: list[dict]) -> list[Order]:
        """Submit several orders of one account so that the worker sees them in one batch."""
        account, token = user
        if self.path == "ws":
            bodies = [payload(account, **o) for o in orders]
            self.worker.process_batch([{"type": "orders.submit", "orders": bodies}])
            ids = [b["id"] for b in bodies]
        else:
            client = self.make_client(token)
            ids = []
            for o in orders:
                body = {k: v for k, v in payload(account, **o).items() if k in REST_FIELDS}
                response = client.post("/api/orders/", body, format="json")
                assert response.status_code == 201, response.content
                ids.append(response.json()["id"])
            # one instant for all: the rate limit measures the client's own timestamps
            Order.objects.filter(id__in=ids).update(created_at=timezone.now())
            self.worker.process_batch([])
        by_id = {str(o.id): o for o in Order.objects.filter(id__in=ids)}
        return [by_id[i] for i in ids]

    def one(self, user, **fields) -> Order:
        return self.many(user, [fields])[0]


REST_FIELDS = {
    "client_order_id",
    "symbol",
    "side",
    "type",
    "time_in_force",
    "qty",
    "limit_price",
    "stop_price",
}


@pytest.fixture(params=["rest", "ws"])
def path(request, worker, make_client):
    return Submitter(request.param, worker, make_client)


def trade_at(worker, seller, buyer, price: str, qty: int = 1, symbol: str = "AAPL") -> None:
    """Print a trade at `price` between two other accounts (moves the mark)."""
    worker.process_batch(
        [
            {
                "type": "orders.submit",
                "orders": [
                    payload(seller, side="sell", qty=qty, limit_price=price, symbol=symbol),
                    payload(buyer, side="buy", qty=qty, limit_price=price, symbol=symbol),
                ],
            }
        ]
    )


def drain(channel: str, timeout: float = 0.2) -> list[dict]:
    """Everything waiting on a channel-layer channel (or group member channel)."""
    layer = get_channel_layer()

    async def receive_all():
        out = []
        while True:
            try:
                out.append(await asyncio.wait_for(layer.receive(channel), timeout))
            except TimeoutError:
                return out

    return async_to_sync(receive_all)()
