"""Each market data provider on its own: simulated (GBM + jumps), yfinance, the exchange's quotes.

yfinance tests mock ONLY the network call (`yfinance.download` / `yfinance.Ticker.history`):
everything of ours around it (parsing, Decimal conversion, caching with a TTL, timeouts, errors)
runs for real. There is no network here, which is also what the timeout/empty-frame tests model.
"""

import asyncio
import math
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pandas as pd
import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from trading_app.market_data import ProviderError
from trading_app.market_data.exchange import ExchangeProvider
from trading_app.market_data.simulated import (
    TRADING_SECONDS_PER_YEAR,
    SeedInstrument,
    SimulatedFeed,
)
from trading_app.market_data.yahoo import YFinanceProvider
from trading_app.services.market_data import publish_quote, quote_key

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)
SEEDS = {
    "AAPL": SeedInstrument(Decimal("190.00"), Decimal("0.010000")),
    "MSFT": SeedInstrument(Decimal("420.00"), Decimal("0.01")),
}


def run_path(feed: SimulatedFeed, steps: int, dt: float = 1.0, symbols=None):
    return [feed.ticks_at(T0 + timedelta(seconds=i * dt), symbols) for i in range(steps)]


# --------------------------------------------------------------------------------- simulated


def test_simulated_same_seed_same_prices_and_other_seed_differs():
    a = run_path(SimulatedFeed(SEEDS, seed=42), 200)
    b = run_path(SimulatedFeed(SEEDS, seed=42), 200)
    c = run_path(SimulatedFeed(SEEDS, seed=43), 200)
    assert a == b
    assert [t.price for ts in a for t in ts] != [t.price for ts in c for t in ts]


def test_simulated_symbol_paths_do_not_depend_on_the_other_symbols():
    both = run_path(SimulatedFeed(SEEDS, seed=1), 50)
    alone = run_path(SimulatedFeed({"AAPL": SEEDS["AAPL"]}, seed=1), 50)
    assert [ts[0] for ts in both] == [ts[0] for ts in alone]


def test_simulated_ticks_are_decimal_on_the_tick_grid_and_start_at_the_reference():
    feed = SimulatedFeed(SEEDS, seed=3, jumps_per_minute=0)
    first = {t.symbol: t for t in feed.ticks_at(T0)}
    assert abs(first["AAPL"].price - Decimal("190")) < Decimal("0.5")
    for ticks in run_path(feed, 300):
        for tick in ticks:
            assert isinstance(tick.price, Decimal)
            assert tick.price > 0
            assert tick.price == tick.price.quantize(Decimal("0.01"))
            assert tick.price.as_tuple().exponent == -2  # 190.12, not 190.120000
            assert tick.source == "simulated"
            assert tick.volume >= 1
    assert tick.message()["price"] == format(tick.price, "f")


def test_simulated_gbm_log_returns_have_the_configured_volatility():
    fine = {"X": SeedInstrument(Decimal("100"), Decimal("0.000001"))}
    sigma = 0.6
    feed = SimulatedFeed(fine, seed=7, volatility=sigma, jumps_per_minute=0)
    prices = [float(ts[0].price) for ts in run_path(feed, 20_001, dt=1.0)]
    returns = [math.log(b / a) for a, b in zip(prices, prices[1:], strict=False)]
    expected = sigma * math.sqrt(1.0 / TRADING_SECONDS_PER_YEAR)
    assert statistics.stdev(returns) == pytest.approx(expected, rel=0.05)
    assert abs(statistics.fmean(returns)) < 4 * expected / math.sqrt(len(returns))
    assert feed.jumps == 0


def test_simulated_jumps_happen_at_the_configured_rate_and_size():
    feed = SimulatedFeed(
        {"X": SeedInstrument(Decimal("100"), Decimal("0.0001"))},
        seed=11,
        jumps_per_minute=6,
        jump_size=0.03,
    )
    prices = [float(ts[0].price) for ts in run_path(feed, 601, dt=1.0)]
    big = [
        r
        for r in (math.log(b / a) for a, b in zip(prices, prices[1:], strict=False))
        if abs(r) > 0.01
    ]
    # 6 per minute over 10 minutes: about 60 (Poisson, sd ~8); each 1.5%..4.5%.
    assert 35 <= feed.jumps <= 90
    assert len(big) == feed.jumps
    assert all(0.014 < abs(r) < 0.046 for r in big)
    assert any(r > 0 for r in big) and any(r < 0 for r in big)


def test_simulated_default_settings_fire_two_percent_moves_within_minutes():
    """The demo promise: with the defaults, 6 symbols show a 2%-in-a-minute move quickly."""
    demo = {s: SeedInstrument(Decimal("100"), Decimal("0.01")) for s in "ABCDEF"}
    feed = SimulatedFeed(demo, seed=0)  # defaults: 0.5 jumps/min, 3% typical size, 2 ticks/s
    prices = {s: [] for s in demo}
    for ticks in run_path(feed, 2 * 180, dt=0.5):  # three minutes
        for t in ticks:
            prices[t.symbol].append(t.price)
    moves = sum(
        1
        for series in prices.values()
        for a, b in zip(series, series[1:], strict=False)
        if abs(b - a) / a >= Decimal("0.02")
    )
    assert moves >= 3


def test_simulated_skips_instruments_without_a_price():
    feed = SimulatedFeed({"AAPL": SEEDS["AAPL"], "NEW": SeedInstrument(None)}, seed=0)
    assert feed.symbols == ["AAPL"]
    assert [t.symbol for t in feed.ticks_at(T0, ["AAPL", "NEW", "NOPE"])] == ["AAPL"]


async def test_simulated_fetch_uses_the_wall_clock():
    feed = SimulatedFeed(SEEDS, seed=0)
    before = datetime.now(UTC)
    ticks = await feed.fetch(["MSFT"])
    assert [t.symbol for t in ticks] == ["MSFT"]
    assert ticks[0].timestamp >= before


# --------------------------------------------------------------------------------- yfinance


def download_frame(prices: dict[str, list[float]], start: datetime = T0) -> pd.DataFrame:
    """A frame shaped like yfinance's multi-ticker `download` (columns: (field, ticker))."""
    length = len(next(iter(prices.values())))
    index = pd.DatetimeIndex([start + timedelta(minutes=i) for i in range(length)], name="Datetime")
    columns = {}
    for symbol, closes in prices.items():
        for field in ("Open", "High", "Low", "Close", "Adj Close"):
            columns[(field, symbol)] = closes
        columns[("Volume", symbol)] = [1000 + i for i in range(length)]
    frame = pd.DataFrame(columns, index=index)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["Price", "Ticker"])
    return frame


@pytest.fixture
def yf_cache():
    return LocMemCache(f"yf-test-{uuid.uuid4()}", {})


def test_yfinance_quotes_parse_the_last_bar_as_decimal(yf_cache):
    """Network call mocked: yfinance.download returns a canned frame."""
    frame = download_frame({"AAPL": [189.5, 189.97999572753906], "MSFT": [420.1, float("nan")]})
    provider = YFinanceProvider(cache=yf_cache)
    with mock.patch("yfinance.download", return_value=frame) as download:
        quotes = provider.quotes(["AAPL", "MSFT"])
    assert download.call_count == 1
    assert download.call_args.kwargs["timeout"] == provider.timeout
    assert quotes["AAPL"]["price"] == "189.98"
    assert quotes["AAPL"]["volume"] == 1001
    assert quotes["AAPL"]["timestamp"] == (T0 + timedelta(minutes=1)).isoformat()
    assert quotes["MSFT"]["price"] == "420.1"  # the last bar with a close
    assert quotes["MSFT"]["timestamp"] == T0.isoformat()


def test_yfinance_results_are_cached_within_the_ttl(yf_cache):
    """Network call mocked: a second call within the TTL must not reach yfinance.download."""
    provider = YFinanceProvider(cache=yf_cache, cache_ttl=1)
    frame = download_frame({"AAPL": [190.0], "MSFT": [420.0]})
    with mock.patch("yfinance.download", return_value=frame) as download:
        provider.quotes(["AAPL", "MSFT"])
        provider.quotes(["AAPL"])
        provider.quotes(["MSFT", "AAPL"])
        assert download.call_count == 1
        time.sleep(1.1)  # past the TTL: Yahoo is asked again
        provider.quotes(["AAPL"])
        assert download.call_count == 2
    assert provider.network_calls == 2


def test_yfinance_uses_djangos_cache_by_default():
    """Network call mocked. The default cache is Django's (Redis when REDIS_URL is set)."""
    cache.delete_many(["yf:quote:AAPL"])
    provider = YFinanceProvider(cache_ttl=30)
    with mock.patch("yfinance.download", return_value=download_frame({"AAPL": [190.0]})):
        provider.quotes(["AAPL"])
    assert cache.get("yf:quote:AAPL")["price"] == "190.0"
    cache.delete_many(["yf:quote:AAPL"])


def test_yfinance_empty_frame_is_a_provider_error(yf_cache):
    """Network call mocked: offline, yf.download returns an empty frame without raising."""
    provider = YFinanceProvider(cache=yf_cache)
    with (
        mock.patch("yfinance.download", return_value=pd.DataFrame()),
        pytest.raises(ProviderError, match="no data for AAPL"),
    ):
        provider.quotes(["AAPL"])
    assert yf_cache.get("yf:quote:AAPL") is None  # failures are not cached


def test_yfinance_all_nan_prices_are_a_provider_error(yf_cache):
    """Network call mocked: a frame whose closes are all NaN."""
    provider = YFinanceProvider(cache=yf_cache)
    frame = download_frame({"AAPL": [float("nan")]})
    with (
        mock.patch("yfinance.download", return_value=frame),
        pytest.raises(ProviderError, match="no prices"),
    ):
        provider.quotes(["AAPL"])


def test_yfinance_network_exception_is_a_provider_error(yf_cache):
    """Network call mocked to raise as curl_cffi does without DNS."""
    provider = YFinanceProvider(cache=yf_cache)
    boom = OSError("Could not resolve host: guce.yahoo.com")
    with (
        mock.patch("yfinance.download", side_effect=boom),
        pytest.raises(ProviderError, match="Could not resolve host"),
    ):
        provider.quotes(["AAPL"])


def test_yfinance_hung_call_times_out(yf_cache):
    """Network call mocked to hang: the provider gives up after its timeout, not Yahoo's."""
    provider = YFinanceProvider(cache=yf_cache, timeout=0.2)

    def hang(*args, **kwargs):
        time.sleep(2)
        return download_frame({"AAPL": [190.0]})

    started = time.monotonic()
    with mock.patch("yfinance.download", side_effect=hang), pytest.raises(ProviderError) as err:
        provider.quotes(["AAPL"])
    assert time.monotonic() - started < 1.5
    assert "timed out after 0.2s" in str(err.value)


async def test_yfinance_fetch_runs_off_the_loop_and_emits_only_new_quotes(yf_cache):
    """Network call mocked. While it runs the event loop keeps serving other tasks."""
    provider = YFinanceProvider(cache=yf_cache, cache_ttl=0)
    frames = iter(
        [
            download_frame({"AAPL": [190.0]}),
            download_frame({"AAPL": [190.0]}),  # unchanged: not a tick
            download_frame({"AAPL": [190.0, 190.5]}),
        ]
    )

    def slow_download(*args, **kwargs):
        time.sleep(0.2)
        return next(frames)

    beats = 0

    async def heartbeat():
        nonlocal beats
        while True:
            await asyncio.sleep(0.01)
            beats += 1

    beat = asyncio.create_task(heartbeat())
    with mock.patch("yfinance.download", side_effect=slow_download):
        first = await provider.fetch(["AAPL"])
        second = await provider.fetch(["AAPL"])
        third = await provider.fetch(["AAPL"])
    beat.cancel()
    assert beats >= 20  # the loop was free during ~0.6 s of blocking calls
    assert [t.price for t in first] == [Decimal("190.0")]
    assert second == []
    assert [(t.price, t.source) for t in third] == [(Decimal("190.5"), "yfinance")]


def test_yfinance_history_bars_are_cached(yf_cache):
    """Network call mocked: yfinance.Ticker.history returns a canned daily frame."""
    index = pd.DatetimeIndex([T0, T0 + timedelta(days=1)], name="Date")
    frame = pd.DataFrame(
        {
            "Open": [189.0, 190.0],
            "High": [191.0, 192.5],
            "Low": [188.5, 189.25],
            "Close": [190.25, 192.0],
            "Volume": [1_000_000, 1_200_000],
        },
        index=index,
    )
    provider = YFinanceProvider(cache=yf_cache)
    start, end = T0, T0 + timedelta(days=2)
    with mock.patch("yfinance.Ticker.history", return_value=frame) as history:
        bars = provider.bars("aapl", start, end)
        again = provider.bars("AAPL", start, end)
    assert history.call_count == 1
    assert bars == again
    assert [b.close for b in bars] == [Decimal("190.25"), Decimal("192.0")]
    assert bars[1].as_dict()["high"] == "192.50"
    assert bars[0].volume == 1_000_000


def test_yfinance_history_offline_is_a_provider_error(yf_cache):
    """Network call mocked both ways yfinance fails offline: raising, or an empty frame."""
    provider = YFinanceProvider(cache=yf_cache)
    start, end = T0, T0 + timedelta(days=5)
    with (
        mock.patch("yfinance.Ticker.history", side_effect=RuntimeError("DNSError")),
        pytest.raises(ProviderError, match="DNSError"),
    ):
        provider.bars("AAPL", start, end)
    with (
        mock.patch("yfinance.Ticker.history", return_value=pd.DataFrame()),
        pytest.raises(ProviderError, match="no bars"),
    ):
        provider.bars("AAPL", start, end)


# --------------------------------------------------------------------------------- exchange


@pytest.fixture
def clean_quotes():
    keys = [quote_key(s) for s in ("AAPL", "MSFT")]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def exchange_quote(price, volume, bid="189.99", ask="190.01", at=T0):
    return {
        "symbol": "AAPL",
        "price": price,
        "bid": bid,
        "ask": ask,
        "volume": volume,
        "timestamp": at.isoformat(),
        "source": "exchange",
    }


async def test_exchange_reads_the_workers_quote_cache(clean_quotes):
    provider = ExchangeProvider()
    assert await provider.fetch(["AAPL", "MSFT"]) == []  # nothing cached yet
    publish_quote("MSFT", {**exchange_quote(None, 0), "symbol": "MSFT"})  # book, no trade
    publish_quote("AAPL", exchange_quote("190.00", 100))
    (tick,) = await provider.fetch(["AAPL", "MSFT"])
    assert (tick.symbol, tick.price, tick.volume, tick.source) == (
        "AAPL",
        Decimal("190.00"),
        100,
        "exchange",
    )
    assert (tick.bid, tick.ask, tick.timestamp) == (Decimal("189.99"), Decimal("190.01"), T0)

    # The worker rewrote the quote after a book-only change: no new print.
    publish_quote("AAPL", exchange_quote("190.00", 100, bid="189.98", at=T0 + timedelta(1)))
    assert await provider.fetch(["AAPL"]) == []

    publish_quote("AAPL", exchange_quote("190.05", 130, at=T0 + timedelta(seconds=5)))
    (tick,) = await provider.fetch(["AAPL"])
    assert (tick.price, tick.volume) == (Decimal("190.05"), 30)  # volume of this print only
