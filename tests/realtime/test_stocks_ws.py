"""/ws/stocks/<ticker>/: the statistics on hand-made tick sequences, then the consumer through the
project's ASGI application with channels' WebsocketCommunicator (the configured channel layer:
in-memory embedded, channels-redis when REDIS_URL is set).
"""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connections

from trading_app.market_data.history import history_key
from trading_app.services.market_data import feed_quote_key, quote_key
from websocket_app.gateway.instruments import directory
from websocket_app.price_stats import PriceStats, PriceStreamHub, reset_hub

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)
D = Decimal


def observe_all(stats, ticks):
    return [stats.observe(D(price), at) for at, price in ticks]


# --------------------------------------------------------------------------------- PriceStats


def test_moving_average_is_the_mean_of_the_ticks_inside_the_window():
    stats = PriceStats(ma_window=300)
    seen = observe_all(stats, [(0, "100"), (100, "102"), (200, "104")])
    assert [s.moving_average for s in seen] == [D("100"), D("101"), D("102")]
    # At 300 the tick at 0 is exactly 300 s old: still inside (the window is inclusive).
    assert stats.observe(D("106"), 300).moving_average == D("103")
    # At 301 it has left: (102 + 104 + 106 + 108) / 4.
    assert stats.observe(D("108"), 301).moving_average == D("105")


def test_moving_average_is_rounded_to_four_places():
    stats = PriceStats()
    seen = observe_all(stats, [(0, "100.00"), (1, "100.01"), (2, "100.01")])
    assert seen[-1].moving_average == D("100.0067")


def test_change_pct_compares_with_the_oldest_tick_of_the_last_minute():
    stats = PriceStats(alert_window=60, threshold_pct=D("50"))
    seen = observe_all(stats, [(0, "100"), (30, "101"), (60, "101.50"), (61, "99")])
    assert seen[0].change_pct is None  # nothing to compare with yet
    assert seen[1].change_pct == D("1.00")
    assert seen[2].change_pct == D("1.50")
    assert seen[3].change_pct == D("-1.98")  # vs 101 (at 30): the tick at 0 left the window


def test_an_up_move_of_two_percent_within_a_minute_alerts_once():
    stats = PriceStats(alert_window=60, threshold_pct=D("2"))
    seen = observe_all(
        stats,
        [(0, "100"), (10, "99.50"), (20, "101.48"), (30, "101.49"), (40, "102"), (45, "102.10")],
    )
    alerts = [s.alert for s in seen]
    assert alerts[:3] == [None, None, None]  # 101.48 is +1.99% from the low 99.50
    alert = alerts[3]
    assert (alert.direction, alert.change_pct) == ("up", D("2.00"))
    assert (alert.reference_price, alert.reference_at, alert.at) == (D("99.50"), 10, 30)
    # The same move continuing is not a new alert.
    assert alerts[4:] == [None, None]


def test_a_down_move_alerts_from_the_windows_high():
    stats = PriceStats(alert_window=60, threshold_pct=D("2"))
    seen = observe_all(stats, [(0, "100"), (20, "101"), (50, "98.98")])
    alert = seen[-1].alert
    assert (alert.direction, alert.change_pct, alert.reference_price) == (
        "down",
        D("-2.00"),
        D("101"),
    )


def test_a_slow_move_over_more_than_the_window_does_not_alert():
    stats = PriceStats(alert_window=60, threshold_pct=D("2"))
    ticks = [(t, str(100 + t * Decimal("0.01"))) for t in range(0, 600, 5)]  # +1% per 100 s
    assert all(s.alert is None for s in observe_all(stats, ticks))
    assert stats.observe(D("108.20"), 600).alert is not None  # then a jump (+2.1%) does


def test_after_an_alert_a_further_threshold_move_alerts_again():
    stats = PriceStats(alert_window=60, threshold_pct=D("2"))
    seen = observe_all(stats, [(0, "100"), (5, "102"), (10, "103"), (15, "104.04"), (20, "101.9")])
    assert [s.alert.direction if s.alert else None for s in seen] == [
        None,
        "up",
        None,
        "up",
        "down",
    ]


def test_window_threshold_and_average_are_configurable():
    stats = PriceStats(ma_window=10, alert_window=5, threshold_pct=D("0.5"))
    seen = observe_all(stats, [(0, "100"), (6, "100.60"), (8, "100.00")])
    assert seen[1].alert is None  # +0.6% but over 6 s > 5 s window
    assert seen[2].alert.direction == "down"  # -0.6% within 2 s
    assert stats.observe(D("100"), 20).moving_average == D("100")


def test_a_tick_from_the_past_counts_as_now():
    stats = PriceStats()
    observe_all(stats, [(100, "100")])
    assert stats.observe(D("100"), 50).moving_average == D("100")
    assert stats.last_at == 100


def test_windows_stay_bounded_on_a_long_stream():
    stats = PriceStats(ma_window=300, alert_window=60)
    for i in range(20_000):
        stats.observe(D("100") + D(i % 7) / 100, i * 0.5)
    assert len(stats._ma) == 601
    assert len(stats._recent) == 121
    assert len(stats._lows) <= 121 and len(stats._highs) <= 121


def test_backfill_gives_the_average_of_the_whole_window_from_the_first_live_tick():
    stats = PriceStats(ma_window=300)
    # The feed's seconds: (start, sum of prices, ticks); the oldest is out of the window.
    buckets = [(-400, D("1000"), 10), (0, D("200"), 2), (100, D("303"), 3)]
    assert stats.backfill(buckets) == 3
    assert stats.observe(D("105"), 120).moving_average == D("101.3333")  # (200+303+105)/6
    assert stats.backfill([(100, D("1"), 1), (119, D("1"), 1)]) == 0  # not after the last tick
    seen = stats.observe(D("100"), 120.5)
    assert seen.change_pct == D("-4.76")  # the 1-minute change starts from live ticks only
    assert seen.alert is not None and seen.alert.reference_price == D("105")


def test_the_feed_keeps_closed_seconds_of_the_window_only():
    from trading_app.market_data.history import PriceHistory

    history = PriceHistory(window=10)
    assert [history.add("AAPL", D(p), at) for p, at in [("1", 0.1), ("3", 0.9)]] == [False] * 2
    assert history.add("AAPL", D("5"), 1.5) is True  # second 0 closed
    assert history.buckets("AAPL") == [(0, D("4"), 2)]
    for at in range(2, 14):
        history.add("AAPL", D("1"), at)
    assert history.buckets("AAPL")[0][0] == 3 and history.buckets("AAPL")[-1][0] == 12
    assert history.buckets("MSFT") == []


def tick_message(price, seconds=0.0, symbol="AAPL", source="simulated"):
    return {
        "type": "price.tick",
        "symbol": symbol,
        "price": price,
        "timestamp": (T0 + timedelta(seconds=seconds)).isoformat(),
        "volume": 10,
        "source": source,
    }


def test_hub_computes_a_tick_once_for_every_consumer():
    import orjson

    hub = PriceStreamHub()
    first = hub.observe(tick_message("100.00", 0))
    again = hub.observe(tick_message("100.00", 0))  # the same tick, another consumer
    assert again is first
    frames = hub.observe(tick_message("102.00", 30))
    assert [orjson.loads(f)["type"] for f in frames] == ["price", "alert"]
    # A consumer lagging behind gets the frames computed for that tick, stats untouched.
    assert hub.observe(tick_message("100.00", 0)) is first
    assert hub.latest_frame("AAPL") == frames[0]


# --------------------------------------------------------------------------------- consumer

ORIGIN = [(b"origin", b"http://localhost:8000")]


@pytest.fixture
async def layer():
    from channels.layers import channel_layers, get_channel_layer

    channel_layers.backends.clear()
    current = get_channel_layer()
    yield current
    await current.flush()
    channel_layers.backends.clear()
    # The ORM ran in sync_to_async's thread: close its connection, or PostgreSQL cannot drop
    # the test database at the end of the session.
    await sync_to_async(connections.close_all)()


@pytest.fixture
def listed(instruments):
    keys = [key(s) for s in instruments for key in (feed_quote_key, quote_key, history_key)]
    cache.delete_many(keys)
    reset_hub()
    directory.invalidate()
    yield instruments
    cache.delete_many(keys)
    reset_hub()


async def connect(path):
    from tradingSim_project.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


pytestmark = pytest.mark.django_db(transaction=True)


async def test_price_ticks_reach_the_client_with_average_and_change(layer, listed):
    ws = await connect("/ws/stocks/aapl/")
    assert await ws.receive_nothing(0.1)  # no price known yet
    await layer.group_send("prices.AAPL", tick_message("190.00", 0))
    assert await ws.receive_json_from(timeout=2) == {
        "type": "price",
        "symbol": "AAPL",
        "price": "190.00",
        "timestamp": T0.isoformat(),
        "source": "simulated",
        "volume": 10,
        "moving_average": "190.00",
        "moving_average_window_seconds": 300,
        "change_pct_1m": None,
    }
    await layer.group_send("prices.AAPL", tick_message("191.00", 20))
    second = await ws.receive_json_from(timeout=2)
    assert (second["moving_average"], second["change_pct_1m"]) == ("190.50", "0.53")
    await ws.disconnect()


async def test_a_first_subscriber_gets_the_feeds_window_average_not_a_cold_start(layer, listed):
    """The feed published AAPL for minutes while nobody here followed it: the first frame's
    moving average is over the feed's window, backfilled from the seconds it cached."""
    from trading_app.market_data.publisher import TickPublisher
    from trading_app.market_data.ticks import Tick

    publisher = TickPublisher({"AAPL": D("0.01")}, layer=layer, history_seconds=300)
    start = T0 - timedelta(seconds=240)
    ticks = [Tick("AAPL", D(100 + n), start + timedelta(seconds=n * 60), "simulated", 1)
             for n in range(5)]  # fmt: skip
    for tick in ticks:  # 100, 101, ... 104 a minute apart: the last second stays open
        await publisher.publish([tick])
    ws = await connect("/ws/stocks/AAPL/")
    first = await ws.receive_json_from(timeout=2)  # the cached quote (104) after the backfill
    assert (first["price"], first["moving_average"]) == ("104.00", "102.00")
    await layer.group_send("prices.AAPL", tick_message("105.00", 1))
    live = await ws.receive_json_from(timeout=2)
    assert live["moving_average"] == "102.50"  # 100..105
    await ws.disconnect()


async def test_a_two_percent_move_within_a_minute_sends_an_alert(layer, listed):
    ws = await connect("/ws/stocks/AAPL/")
    for seconds, price in [(0, "190.00"), (20, "189.00"), (40, "193.00")]:
        await layer.group_send("prices.AAPL", tick_message(price, seconds))
    prices = [await ws.receive_json_from(timeout=2) for _ in range(3)]
    assert [p["price"] for p in prices] == ["190.00", "189.00", "193.00"]
    alert = await ws.receive_json_from(timeout=2)
    assert alert == {
        "type": "alert",
        "symbol": "AAPL",
        "price": "193.00",
        "change_pct": "2.12",
        "direction": "up",
        "reference_price": "189.00",
        "window_seconds": 60,
        "threshold_pct": 2,
        "message": "AAPL up 2.12% in 20s (189.00 -> 193.00)",
        "timestamp": (T0 + timedelta(seconds=40)).isoformat(),
    }
    assert prices[2]["change_pct_1m"] == "1.58"  # vs 190.00 a minute window back
    await layer.group_send("prices.AAPL", tick_message("193.50", 45))
    assert (await ws.receive_json_from(timeout=2))["type"] == "price"
    assert await ws.receive_nothing(0.1)  # no second alert for the same move
    await ws.disconnect()


async def test_every_subscriber_gets_the_same_stream(layer, listed):
    a = await connect("/ws/stocks/MSFT/")
    b = await connect("/ws/stocks/MSFT/")
    other = await connect("/ws/stocks/TSLA/")
    await layer.group_send("prices.MSFT", tick_message("420.00", 0, symbol="MSFT"))
    first, second = await a.receive_json_from(timeout=2), await b.receive_json_from(timeout=2)
    assert first == second and first["symbol"] == "MSFT"
    assert await other.receive_nothing(0.1)
    for ws in (a, b, other):
        await ws.disconnect()


async def test_connect_sends_the_latest_known_price(layer, listed):
    await cache.aset(
        feed_quote_key("TSLA"),
        {
            "symbol": "TSLA",
            "price": "251.30",
            "bid": None,
            "ask": None,
            "volume": 50,
            "timestamp": T0.isoformat(),
            "source": "simulated",
        },
    )
    ws = await connect("/ws/stocks/TSLA/")
    first = await ws.receive_json_from(timeout=2)
    assert (first["type"], first["price"], first["source"]) == ("price", "251.30", "simulated")
    # A later subscriber gets the process's last frame, with the running average.
    await layer.group_send("prices.TSLA", tick_message("251.40", 1, symbol="TSLA"))
    tick = await ws.receive_json_from(timeout=2)
    late = await connect("/ws/stocks/tsla/")
    assert await late.receive_json_from(timeout=2) == tick
    assert tick["moving_average"] == "251.35"
    for socket in (ws, late):
        await socket.disconnect()


async def test_a_first_subscriber_gets_the_newer_cached_quote_not_a_stale_frame(layer, listed):
    # The process stops receiving a symbol's ticks when its last subscriber leaves; the feed
    # goes on and caches them. Coming back later, the cached price is the current one.
    ws = await connect("/ws/stocks/TSLA/")
    await layer.group_send("prices.TSLA", tick_message("251.40", 0, symbol="TSLA"))
    assert (await ws.receive_json_from(timeout=2))["price"] == "251.40"
    await ws.disconnect()
    quote = {"symbol": "TSLA", "bid": None, "ask": None, "volume": 50, "source": "simulated"}
    later = (T0 + timedelta(seconds=90)).isoformat()
    await cache.aset(feed_quote_key("TSLA"), {**quote, "price": "255.00", "timestamp": later})
    again = await connect("/ws/stocks/TSLA/")
    first = await again.receive_json_from(timeout=2)
    assert (first["price"], first["timestamp"]) == ("255.00", later)
    assert await again.receive_nothing(0.1)  # one price on connect, not the stale one too
    await again.disconnect()
    # a cached quote older than what the process saw does not go back in time
    await cache.aset(
        feed_quote_key("TSLA"), {**quote, "price": "240.00", "timestamp": T0.isoformat()}
    )
    third = await connect("/ws/stocks/TSLA/")
    assert (await third.receive_json_from(timeout=2))["price"] == "255.00"
    await third.disconnect()


async def test_unknown_ticker_gets_an_error_then_close_code_4404(layer, listed):
    ws = await connect("/ws/stocks/NOPE/")
    error = await ws.receive_json_from(timeout=2)
    assert (error["type"], error["code"]) == ("error", "unknown_symbol")
    assert "NOPE" in error["message"]
    assert await ws.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": 4404,
        "reason": "unknown ticker",
    }


async def test_malformed_ticker_is_closed_the_same_way(layer, listed):
    ws = await connect("/ws/stocks/%24%24%24/")
    assert (await ws.receive_json_from(timeout=2))["code"] == "unknown_symbol"
    assert (await ws.receive_output(timeout=2))["code"] == 4404


async def test_bad_client_messages_get_errors_and_the_connection_stays(layer, listed):
    ws = await connect("/ws/stocks/AAPL/")
    await ws.send_to(text_data="{not json")
    assert (await ws.receive_json_from(timeout=2))["code"] == "malformed_json"
    await ws.send_to(text_data="[1, 2]")
    assert (await ws.receive_json_from(timeout=2))["code"] == "invalid_message"
    await ws.send_json_to({"type": "subscribe", "symbol": "MSFT"})
    error = await ws.receive_json_from(timeout=2)
    assert (error["type"], error["code"]) == ("error", "unknown_type")
    await ws.send_json_to({"type": "latest"})
    assert (await ws.receive_json_from(timeout=2))["code"] == "no_price"
    await ws.send_json_to({"type": "ping", "id": 7})
    assert await ws.receive_json_from(timeout=2) == {"type": "pong", "id": 7}
    # Still subscribed.
    await layer.group_send("prices.AAPL", tick_message("190.00"))
    assert (await ws.receive_json_from(timeout=2))["type"] == "price"
    await ws.send_json_to({"type": "latest"})
    assert (await ws.receive_json_from(timeout=2))["price"] == "190.00"
    await ws.disconnect()


async def test_feed_status_is_forwarded(layer, listed):
    ws = await connect("/ws/stocks/AAPL/")
    status = {
        "type": "feed.status",
        "event": "switch",
        "provider": "simulated",
        "previous": "yfinance",
        "reason": "yfinance returned no data",
    }
    await layer.group_send("prices.AAPL", status)
    assert await ws.receive_json_from(timeout=2) == status
    await ws.disconnect()


async def test_a_malformed_tick_is_ignored_not_fatal(layer, listed):
    ws = await connect("/ws/stocks/AAPL/")
    await layer.group_send("prices.AAPL", {**tick_message("abc"), "timestamp": "yesterday"})
    await layer.group_send("prices.AAPL", tick_message("190.00"))
    assert (await ws.receive_json_from(timeout=2))["price"] == "190.00"
    await ws.disconnect()


async def test_disconnect_leaves_the_group(layer, listed):
    ws = await connect("/ws/stocks/AAPL/")
    await ws.disconnect()
    await asyncio.sleep(0.05)
    await layer.group_send("prices.AAPL", tick_message("190.00"))  # nobody left: no error
