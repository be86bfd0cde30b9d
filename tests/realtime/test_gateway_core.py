"""The gateway core's send path and the embedded channel layer (no database, no server)."""

from __future__ import annotations

import asyncio

from channels.sessions import InstanceSessionWrapper

from websocket_app.gateway import codes
from websocket_app.gateway.connection import GatewayConsumer, direct_send
from websocket_app.gateway.memory_layer import InMemoryChannelLayer


async def _idle(consumer: GatewayConsumer) -> None:
    await consumer.accept()
    await asyncio.sleep(0)  # the writer starts and waits for frames
    assert consumer._waiter is not None


async def test_a_push_to_an_idle_socket_is_sent_at_once_without_a_task_switch():
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    consumer = GatewayConsumer({"path": "/ws/t/"}, send)
    await _idle(consumer)
    consumer.push("a")
    consumer.push("b")
    # no await in between: the frames are already with the server, in order
    assert [m.get("text") for m in sent] == [None, "a", "b"]
    assert not consumer.outbox and consumer._waiter is not None
    consumer._writer.cancel()


async def test_a_send_that_suspends_is_finished_by_the_writer_and_keeps_the_order():
    gate = asyncio.Event()
    sent: list[str] = []

    async def send(message: dict) -> None:
        if message["type"] == "websocket.send":
            if not gate.is_set():
                await gate.wait()  # the client's window is full (uvicorn waits for the drain)
            sent.append(message["text"])

    consumer = GatewayConsumer({"path": "/ws/t/"}, send)
    await _idle(consumer)
    for i in range(5):
        consumer.push(str(i))  # "0" suspends in push(); the rest queue behind it
    assert sent == [] and list(consumer.outbox) == ["1", "2", "3", "4"]
    await asyncio.sleep(0.01)
    assert sent == []  # still waiting, nothing overtook "0"
    gate.set()
    await asyncio.sleep(0.01)
    assert sent == ["0", "1", "2", "3", "4"] and not consumer.outbox
    consumer.push("5")  # idle again: sent at once
    assert sent[-1] == "5"
    consumer._writer.cancel()


async def test_a_slow_consumer_is_still_closed_with_4408_when_its_send_hangs_in_push():
    never = asyncio.Event()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "websocket.send":
            await never.wait()

    consumer = GatewayConsumer({"path": "/ws/t/"}, send)
    consumer.outbox_limit = 10
    await _idle(consumer)
    for i in range(20):
        consumer.push(str(i))
    await asyncio.sleep(0.01)
    assert consumer.closed and consumer.overflows == 1 and not consumer.outbox
    assert sent[-1] == {
        "type": "websocket.close",
        "code": codes.SLOW_CONSUMER,
        "reason": "slow consumer",
    }
    consumer._writer.cancel()


async def test_a_send_that_fails_in_push_closes_the_socket_quietly():
    async def send(message: dict) -> None:
        if message["type"] == "websocket.send":
            raise OSError("connection reset")

    consumer = GatewayConsumer({"path": "/ws/t/"}, send)
    await _idle(consumer)
    consumer.push("a")
    assert consumer.closed
    consumer.push("b")  # ignored, no error
    consumer._writer.cancel()


async def test_close_finishes_a_send_that_suspended_in_push_before_the_close_frame():
    gate = asyncio.Event()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        if message["type"] == "websocket.send" and not gate.is_set():
            await gate.wait()
        sent.append(message)

    consumer = GatewayConsumer({"path": "/ws/t/"}, send)
    await _idle(consumer)
    consumer.push("a")  # suspends
    consumer.push("b")  # queued
    asyncio.get_running_loop().call_later(0.01, gate.set)
    await consumer.close(4000, "bye")  # in this task: the writer has not run yet
    assert [m.get("text", m.get("code")) for m in sent] == [None, "a", "b", 4000]


async def test_direct_send_skips_the_session_middlewares_wrapper():
    async def server_send(message: dict) -> None:
        pass

    wrapper = InstanceSessionWrapper.__new__(InstanceSessionWrapper)
    wrapper.real_send = server_send
    outer = InstanceSessionWrapper.__new__(InstanceSessionWrapper)
    outer.real_send = wrapper.send
    assert direct_send(outer.send) is server_send
    assert direct_send(server_send) is server_send


async def test_the_embedded_layer_scans_for_expired_messages_at_most_once_per_interval():
    layer = InMemoryChannelLayer(expiry=0.05, clean_interval=0.2)
    scans = 0
    original = InMemoryChannelLayer.__mro__[1]._clean_expired

    def counting(self):
        nonlocal scans
        scans += 1
        original(self)

    InMemoryChannelLayer.__mro__[1]._clean_expired = counting
    try:
        await layer.group_add("g", "a.x")
        for _ in range(50):
            await layer.group_send("g", {"type": "m"})
            await asyncio.wait_for(layer.receive("a.x"), 1)
        assert scans == 1  # not 100
        await layer.send("a.x", {"type": "old"})
        await asyncio.sleep(0.25)  # the message expired and the interval passed
        await layer.send("a.y", {"type": "kept"})
        await layer.group_send("g", {"type": "new"})  # scans: "old" is dropped
        assert scans == 2
        # as in Channels: a channel that let a message expire leaves its groups
        assert not layer.groups.get("g") and "a.x" not in layer.channels
        assert (await asyncio.wait_for(layer.receive("a.y"), 1))["type"] == "kept"
    finally:
        InMemoryChannelLayer.__mro__[1]._clean_expired = original
    await layer.flush()


async def test_the_embedded_layers_group_send_copies_to_each_member_and_skips_a_full_one():
    layer = InMemoryChannelLayer(capacity=1)
    for channel in ("a.x", "a.y", "a.z"):
        await layer.group_add("g", channel)
    await layer.send("a.y", {"type": "filler"})  # a.y is full
    message = {"type": "m", "items": [1]}
    await layer.group_send("g", message)
    x = await asyncio.wait_for(layer.receive("a.x"), 1)
    z = await asyncio.wait_for(layer.receive("a.z"), 1)
    assert x == z == message and x is not message and x["items"] is not z["items"]
    assert (await asyncio.wait_for(layer.receive("a.y"), 1))["type"] == "filler"
    await layer.group_send("nobody", message)  # an unknown group: nothing, no error
    await layer.flush()
