"""/ws/orders/: authentication, validation, hand-over to the worker, reports, isolation."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from tests.realtime.gateway_helpers import (
    flush_layer,
    nothing_more,
    open_socket,
    receive,
    receive_until,
    running_worker,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_layers", "closed_connections"),
]


def limit(side: str = "buy", price: str = "189.50", qty: int = 10, **extra) -> dict:
    return {
        "symbol": "AAPL",
        "side": side,
        "order_type": "limit",
        "qty": qty,
        "limit_price": price,
        "time_in_force": "gtc",
        **extra,
    }


def rest_limit(**extra) -> dict:
    """The REST body (and a submit_batch element): `type` is the order type."""
    body = limit(**extra)
    body["type"] = body.pop("order_type")
    return body


async def orders_socket(token: str):
    socket = await open_socket(f"/ws/orders/?token={token}")
    hello = await receive(socket)
    assert hello["type"] == "authorized", hello
    return socket, hello


def first_report(kind: str = "trade_update"):
    return lambda m: m["type"] == kind


# ------------------------------------------------------------------------------ authentication


async def test_unauthenticated_connection_gets_an_error_then_close_4401(instruments):
    socket = await open_socket("/ws/orders/")
    message = await receive(socket)
    assert message["type"] == "error" and message["code"] == "unauthenticated"
    closed = await socket.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


async def test_a_wrong_token_is_refused_too(alice):
    socket = await open_socket("/ws/orders/?token=not-a-token")
    assert (await receive(socket))["code"] == "unauthenticated"
    assert (await socket.receive_output(timeout=5))["code"] == 4401


async def test_token_in_query_or_header_and_the_session_cookie_authenticate(alice):
    account, token = alice
    socket, hello = await orders_socket(token)
    assert hello["account_id"] == account.pk and "AAPL" in hello["symbols"]
    await socket.disconnect()

    socket = await open_socket("/ws/orders/", [(b"authorization", f"Token {token}".encode())])
    assert (await receive(socket))["account_id"] == account.pk
    await socket.disconnect()

    def session_cookie() -> str:
        from django.test import Client

        client = Client()
        client.force_login(account.user)
        return client.cookies["sessionid"].value

    cookie = await sync_to_async(session_cookie)()
    socket = await open_socket("/ws/orders/", [(b"cookie", f"sessionid={cookie}".encode())])
    assert (await receive(socket))["account_id"] == account.pk
    await socket.disconnect()


# ------------------------------------------------------------------------------ hand-over


async def test_orders_of_one_tick_reach_the_worker_as_one_message_and_nothing_is_written(
    alice, bob
):
    """No worker runs here: what the gateway sends sits on the shard's channel."""
    from trading_app.models import Order

    await flush_layer()
    a, _ = await orders_socket(alice[1])
    b, _ = await orders_socket(bob[1])
    # Both frames are queued before either consumer runs: one event-loop tick handles both.
    await a.send_json_to({"type": "submit", **limit(client_order_id="a-1")})
    await b.send_json_to(
        {"type": "submit", **limit(side="sell", price="191", client_order_id="b-1")}
    )
    layer = get_channel_layer()
    message = await asyncio.wait_for(layer.receive("matching.shard.0"), 5)
    assert message["type"] == "orders.submit"
    by_coid = {p["client_order_id"]: p for p in message["orders"]}
    assert set(by_coid) == {"a-1", "b-1"}
    p = by_coid["a-1"]
    assert p["account_id"] == alice[0].pk and p["origin"] == "ws"
    assert (p["symbol"], p["side"], p["type"], p["qty"], p["limit_price"]) == (
        "AAPL",
        "buy",
        "limit",
        10,
        "189.50",
    )
    assert len(p["id"]) == 36  # the gateway makes the uuid
    # a batch frame is one message as well
    await a.send_json_to(
        {"type": "submit_batch", "orders": [rest_limit(client_order_id=f"x{i}") for i in range(3)]}
    )
    message = await asyncio.wait_for(layer.receive("matching.shard.0"), 5)
    assert [p["client_order_id"] for p in message["orders"]] == ["x0", "x1", "x2"]
    assert await sync_to_async(Order.objects.count)() == 0  # the gateway writes nothing
    await a.disconnect()
    await b.disconnect()


# ------------------------------------------------------------------------------ validation


async def test_malformed_json_and_bad_fields_get_errors_and_the_socket_stays_open(alice):
    socket, _ = await orders_socket(alice[1])
    await socket.send_to(text_data="{not json")
    message = await receive(socket)
    assert message["type"] == "error" and message["code"] == "malformed_json"
    assert message["message"]  # every error says what is wrong in one line, as /ws/stocks/ does

    await socket.send_json_to(
        {"type": "submit", **limit(price="189.505", qty=0, client_order_id="bad-1")}
    )
    message = await receive(socket)
    assert message["code"] == "invalid_order" and message["client_order_id"] == "bad-1"
    assert "tick size" in message["errors"]["limit_price"][0]
    assert "qty" in message["errors"]
    assert "limit_price: must be a multiple of the tick size" in message["message"]

    await socket.send_json_to({"type": "submit", **limit(symbol="NOPE")})
    assert "unknown symbol" in (await receive(socket))["errors"]["symbol"][0]

    await socket.send_json_to({"type": "submit", "symbol": "AAPL", "side": "buy", "qty": 1})
    assert (await receive(socket))["errors"]["type"] == ["This field is required."]

    await socket.send_json_to({"type": "dance"})
    assert (await receive(socket))["code"] == "unknown_type"
    await socket.send_json_to({"type": "cancel", "id": "not-a-uuid"})
    assert (await receive(socket))["code"] == "invalid_cancel"
    await socket.send_json_to({"type": "replace", "client_order_id": "x"})
    assert (await receive(socket))["code"] == "invalid_replace"
    await socket.send_json_to(
        {"type": "submit_batch", "orders": [rest_limit(), {"symbol": "AAPL"}]}
    )
    message = await receive(socket)
    assert message["code"] == "invalid_order" and message["index"] == 1

    await socket.send_json_to({"type": "ping", "id": 7})
    assert await receive(socket) == {"type": "pong", "id": 7}  # still open
    await socket.disconnect()


async def test_the_same_validation_as_rest(alice, alice_client):
    """A field REST refuses is refused here with the same message."""
    body = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 5, "limit_price": "-1"}
    rest = await sync_to_async(alice_client.post)("/api/orders/", body, format="json")
    assert rest.status_code == 400
    socket, _ = await orders_socket(alice[1])
    await socket.send_json_to({"type": "submit", "order": body})
    message = await receive(socket)
    rest_errors = rest.json()
    rest_errors = rest_errors.get("errors", rest_errors)
    assert message["errors"]["limit_price"] == rest_errors["limit_price"]
    await socket.disconnect()


# ------------------------------------------------------------------------------ with the worker


async def test_ack_fill_and_isolation_with_the_real_worker(alice, bob):
    from trading_app.models import Order, Trade

    await flush_layer()
    async with running_worker():
        a, _ = await orders_socket(alice[1])
        b, _ = await orders_socket(bob[1])
        await a.send_json_to(
            {"type": "submit", **limit(side="sell", price="190.00", client_order_id="alice-s1")}
        )
        ack = (await receive_until(a, first_report()))[-1]
        assert (ack["event"], ack["client_order_id"]) == ("new", "alice-s1")
        assert ack["order"]["status"] == "new" and ack["order"]["qty"] == 10
        # the ack comes after the worker's batch committed: the row is there
        row = await sync_to_async(Order.objects.get)(client_order_id="alice-s1")
        assert row.status == "new" and str(row.id) == ack["order"]["id"]

        await b.send_json_to(
            {"type": "submit", **limit(side="buy", price="191.00", qty=4, client_order_id="bob-b1")}
        )
        bob_seen = await receive_until(b, lambda m: m.get("event") == "fill")
        fill = bob_seen[-1]
        assert fill["client_order_id"] == "bob-b1" and fill["price"] == "190.00"
        assert fill["qty"] == 4 and fill["position_qty"] == 4
        alice_fill = (await receive_until(a, lambda m: m.get("event") == "partial_fill"))[-1]
        assert alice_fill["client_order_id"] == "alice-s1" and alice_fill["position_qty"] == -4

        # bob never sees alice's reports, nor alice bob's
        assert all(m.get("client_order_id") == "bob-b1" for m in bob_seen)
        assert await nothing_more(b)
        assert await nothing_more(a)
        assert await sync_to_async(Trade.objects.filter(source="exchange").count)() == 2
        await a.disconnect()
        await b.disconnect()


async def test_duplicate_client_order_id_cancel_and_replace(alice):
    await flush_layer()
    async with running_worker():
        socket, _ = await orders_socket(alice[1])
        await socket.send_json_to({"type": "submit", **limit(client_order_id="dup")})
        assert (await receive_until(socket, first_report()))[-1]["event"] == "new"

        await socket.send_json_to({"type": "submit", **limit(client_order_id="dup")})
        error = (await receive_until(socket, first_report("error")))[-1]
        assert error["code"] == "duplicate_client_order_id" and error["client_order_id"] == "dup"

        await socket.send_json_to(
            {"type": "replace", "client_order_id": "dup", "qty": 20, "limit_price": "189.40"}
        )
        replaced = (await receive_until(socket, first_report()))[-1]
        assert replaced["event"] == "replaced" and replaced["order"]["qty"] == 20
        assert replaced["order"]["limit_price"] == "189.40"

        await socket.send_json_to({"type": "cancel", "client_order_id": "dup"})
        canceled = (await receive_until(socket, first_report()))[-1]
        assert canceled["event"] == "canceled" and canceled["client_order_id"] == "dup"

        await socket.send_json_to({"type": "cancel", "id": canceled["order"]["id"]})
        error = (await receive_until(socket, first_report("error")))[-1]
        assert error["code"] == "unknown_order"
        await socket.disconnect()


async def test_batch_format_groups_reports_in_one_frame(alice):
    await flush_layer()
    async with running_worker():
        socket = await open_socket(f"/ws/orders/?token={alice[1]}&format=batch")
        assert (await receive(socket))["type"] == "authorized"
        orders = [
            {
                "symbol": "AAPL",
                "side": "buy",
                "type": "limit",
                "qty": 1,
                "limit_price": "180.00",
                "client_order_id": f"b{i}",
            }
            for i in range(50)
        ]
        await socket.send_json_to({"type": "submit_batch", "orders": orders})
        acked: set[str] = set()
        while len(acked) < 50:
            frame = await receive(socket)
            assert frame["type"] == "trade_updates"
            acked.update(u["client_order_id"] for u in frame["updates"] if u["event"] == "new")
        assert acked == {f"b{i}" for i in range(50)}
        await socket.disconnect()


# ------------------------------------------------------------------------------ slow consumers


async def test_a_client_that_stops_reading_is_cut_off_without_delaying_the_others():
    """Under uvicorn a send waits for the socket to drain; the outbox takes the wait instead."""
    from websocket_app.gateway.connection import GatewayConsumer

    never = asyncio.Event()
    slow_sent: list[dict] = []
    fast_sent: list[dict] = []

    async def slow_send(message: dict) -> None:
        slow_sent.append(message)
        if message["type"] == "websocket.send":
            await never.wait()  # the client's TCP window is full

    async def fast_send(message: dict) -> None:
        fast_sent.append(message)

    slow = GatewayConsumer({"path": "/ws/slow/"}, slow_send)
    slow.outbox_limit = 100
    fast = GatewayConsumer({"path": "/ws/fast/"}, fast_send)
    await slow.accept()
    await fast.accept()
    for i in range(150):  # what a publisher does: push, never await
        slow.push(str(i))
        fast.push(str(i))
    await asyncio.sleep(0.05)
    assert [m["text"] for m in fast_sent if m["type"] == "websocket.send"] == [
        str(i) for i in range(150)
    ]
    assert slow.closed and slow.overflows == 1 and not slow.outbox
    assert slow_sent[-1] == {"type": "websocket.close", "code": 4408, "reason": "slow consumer"}
    for consumer in (slow, fast):
        consumer._writer.cancel()


async def test_risk_alerts_reach_the_account_socket_and_no_other(alice, bob):
    """A refused order raises a breach alert on the owner's /ws/orders/ stream, beside the
    rejection; a warning fires when usage passes 80%; another account hears nothing."""
    from trading_app.models import RiskLimits

    await sync_to_async(RiskLimits.objects.update_or_create)(
        account=alice[0], defaults={"max_position_qty": 100}
    )
    await flush_layer()
    async with running_worker():
        a, _ = await orders_socket(alice[1])
        b, _ = await orders_socket(bob[1])
        await a.send_json_to({"type": "submit", **limit(qty=85, client_order_id="w1")})
        warning = (await receive_until(a, first_report("risk_alert")))[-1]
        assert (warning["code"], warning["level"]) == ("MAX_POSITION", "warning")
        assert (warning["usage_pct"], warning["limit"]) == ("85.0", "100")

        await a.send_json_to({"type": "submit", **limit(qty=20, client_order_id="b1")})
        seen = await receive_until(
            a, lambda m: m["type"] == "risk_alert" and m["level"] == "breach"
        )
        rejected = [m for m in seen if m.get("event") == "rejected"]
        if not rejected:  # the alert may come before the report of the same batch
            rejected = [(await receive_until(a, lambda m: m.get("event") == "rejected"))[-1]]
        assert rejected[0]["order"]["reject_reason"].startswith("MAX_POSITION: ")
        assert seen[-1]["code"] == "MAX_POSITION" and seen[-1]["value"] == "105"
        assert await nothing_more(b)
        await a.disconnect()
        await b.disconnect()


@pytest.mark.parametrize(
    "headers,accepted",
    [
        ([], True),  # not a browser: a trading client or a script
        ([(b"origin", b"http://testserver")], True),  # a page of ours
        ([(b"origin", b"http://evil.example")], False),  # another site's page: refused
        # cookies are not scoped to a port: another app on this host is another origin
        ([(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")], True),
        ([(b"origin", b"http://localhost:9999"), (b"host", b"localhost:8000")], False),
        ([(b"origin", b"http://127.0.0.1:9999"), (b"host", b"127.0.0.1:8000")], False),
    ],
)
async def test_the_origin_check_is_for_browsers(alice, headers, accepted):
    from channels.testing import WebsocketCommunicator

    from tradingSim_project.asgi import application

    socket = WebsocketCommunicator(application, f"/ws/orders/?token={alice[1]}", headers=headers)
    connected, _ = await socket.connect(timeout=10)
    assert connected is accepted
    if connected:
        assert (await receive(socket))["type"] == "authorized"
    await socket.disconnect()


async def test_an_origin_listed_in_csrf_trusted_origins_may_connect(alice, settings):
    from channels.testing import WebsocketCommunicator

    from tradingSim_project.asgi import application

    settings.CSRF_TRUSTED_ORIGINS = ["http://localhost:3000"]  # e.g. a front end's dev server
    headers = [(b"origin", b"http://localhost:3000"), (b"host", b"localhost:8000")]
    socket = WebsocketCommunicator(application, f"/ws/orders/?token={alice[1]}", headers=headers)
    connected, _ = await socket.connect(timeout=10)
    assert connected
    await socket.disconnect()
