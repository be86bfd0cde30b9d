"""/ws/market_data/<symbol>/: snapshot, sequence handling, gaps, and the real worker's updates."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from django.core.cache import cache

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


def book(sequence: int, levels: int = 20) -> dict:
    return {
        "symbol": "AAPL",
        "sequence": sequence,
        "bids": [[f"{189 - i * 0.01:.2f}", 100 + i] for i in range(levels)],
        "asks": [[f"{190 + i * 0.01:.2f}", 200 + i] for i in range(levels)],
        "trades": [
            {
                "price": "189.99",
                "qty": 5,
                "side": "buy",
                "timestamp": "2025-01-20T14:30:00+00:00",
                "execution_id": 7,
            }
        ],
    }


def update(sequence: int, changes=(("buy", "189.00", 0),), trades=()) -> dict:
    return {
        "type": "market.update",
        "symbol": "AAPL",
        "sequence": sequence,
        "changes": [list(c) for c in changes],
        "trades": list(trades),
        "quote": {
            "symbol": "AAPL",
            "price": "189.99",
            "bid": "188.99",
            "ask": "190.00",
            "volume": 5,
            "timestamp": "2025-01-20T14:30:01+00:00",
            "source": "exchange",
        },
    }


async def publish(message: dict) -> None:
    await get_channel_layer().group_send("market.AAPL", message)


async def test_unknown_symbol_gets_an_error_then_close_4404(instruments):
    socket = await open_socket("/ws/market_data/NOPE/")
    message = await receive(socket)
    assert message["type"] == "error" and message["code"] == "unknown_symbol"
    closed = await socket.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4404


async def test_snapshot_then_only_newer_updates_in_order(instruments):
    await flush_layer()
    await cache.aset("book:AAPL", book(100), None)
    socket = await open_socket("/ws/market_data/aapl/?depth=5")
    snapshot = await receive(socket)
    assert snapshot["type"] == "snapshot" and snapshot["sequence"] == 100
    assert snapshot["depth"] == 5 and len(snapshot["bids"]) == 5 and len(snapshot["asks"]) == 5
    assert snapshot["bids"][0] == ["189.00", "100"] and snapshot["asks"][0] == ["190.00", "200"]
    assert snapshot["trades"][0]["trade_id"] == 7

    await publish(update(99))
    await publish(update(100))  # already in the snapshot: dropped
    trade = {"price": "190.00", "qty": 3, "side": "buy", "timestamp": "t", "execution_id": 8}
    await publish(update(101, changes=[("sell", "190.00", 197)], trades=[trade]))
    messages = [await receive(socket) for _ in range(3)]
    assert [m["type"] for m in messages] == ["trade", "l2update", "ticker"]
    assert {m["sequence"] for m in messages} == {101}
    assert messages[0] | {"time": None} == {
        "type": "trade",
        "symbol": "AAPL",
        "sequence": 101,
        "trade_id": 8,
        "price": "190.00",
        "size": "3",
        "side": "buy",
        "time": None,
    }
    assert messages[1]["changes"] == [["sell", "190.00", "197"]]
    assert messages[2]["best_bid"] == "188.99" and messages[2]["price"] == "189.99"

    await publish(update(102, changes=[("buy", "189.00", 0)]))
    l2 = [m for m in [await receive(socket), await receive(socket)] if m["type"] == "l2update"]
    assert l2[0]["sequence"] == 102 and l2[0]["changes"] == [["buy", "189.00", "0"]]
    assert await nothing_more(socket)
    await socket.disconnect()


async def test_a_gap_brings_a_fresh_snapshot_and_clients_may_ask_for_one(instruments):
    await flush_layer()
    await cache.aset("book:AAPL", book(10), None)
    socket = await open_socket("/ws/market_data/AAPL/?channels=level2")
    assert (await receive(socket))["sequence"] == 10
    await publish(update(11))
    assert (await receive(socket))["sequence"] == 11

    await cache.aset("book:AAPL", book(14), None)  # 12 and 13 were lost on the way
    await publish(update(14))
    snapshot = await receive(socket)
    assert (snapshot["type"], snapshot["sequence"], snapshot["reason"]) == ("snapshot", 14, "gap")
    await publish(update(15))
    assert (await receive(socket))["sequence"] == 15  # 14 is in the snapshot: not repeated

    await socket.send_json_to({"type": "snapshot"})
    snapshot = await receive(socket)
    assert snapshot["reason"] == "requested" and snapshot["sequence"] == 14
    await socket.send_to(text_data="nope")
    assert (await receive(socket))["code"] == "malformed_json"
    await socket.disconnect()


async def test_channels_filter(instruments):
    await flush_layer()
    await cache.aset("book:AAPL", book(1), None)
    socket = await open_socket("/ws/market_data/AAPL/?channels=trades")
    await receive(socket)
    trade = {"price": "190.00", "qty": 1, "side": "sell", "timestamp": "t", "execution_id": 9}
    await publish(update(2, trades=[trade]))
    assert (await receive(socket))["type"] == "trade"
    assert await nothing_more(socket)
    await socket.disconnect()


async def test_the_real_worker_feeds_snapshot_depth_and_trades(alice, bob):
    await flush_layer()
    async with running_worker():
        market = await open_socket("/ws/market_data/AAPL/")
        snapshot = await receive(market)
        assert snapshot["type"] == "snapshot" and snapshot["sequence"] > 0
        assert "stale" not in snapshot
        orders = await open_socket(f"/ws/orders/?token={alice[1]}")
        await receive(orders)
        await orders.send_json_to(
            {
                "type": "submit",
                "symbol": "AAPL",
                "side": "sell",
                "order_type": "limit",
                "qty": 10,
                "limit_price": "190.00",
            }
        )
        first = await receive_until(market, lambda m: m["type"] == "ticker")
        assert [m["type"] for m in first] == ["l2update", "ticker"]
        l2 = first[0]
        assert l2["changes"] == [["sell", "190.00", "10"]]
        assert l2["sequence"] == snapshot["sequence"] + 1

        taker = await open_socket(f"/ws/orders/?token={bob[1]}")
        await receive(taker)
        await taker.send_json_to(
            {"type": "submit", "symbol": "AAPL", "side": "buy", "order_type": "market", "qty": 4}
        )
        seen = await receive_until(market, lambda m: m["type"] == "ticker")
        assert [m["type"] for m in seen] == ["trade", "l2update", "ticker"]
        assert seen[0]["price"] == "190.00" and seen[0]["size"] == "4"
        assert seen[1]["changes"] == [["sell", "190.00", "6"]]
        assert seen[1]["sequence"] == l2["sequence"] + 1
        assert seen[2]["price"] == "190.00"

        fresh = await open_socket("/ws/market_data/AAPL/")
        again = await receive(fresh)
        assert again["sequence"] == seen[1]["sequence"]
        assert again["asks"][0] == ["190.00", "6"] and again["trades"][0]["size"] == "4"
        for socket in (market, orders, taker, fresh):
            await socket.disconnect()
