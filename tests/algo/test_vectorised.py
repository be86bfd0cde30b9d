"""The vectorised fast path must give exactly the event-driven engine's trades."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algo_trading import run_backtest
from algo_trading.indicators import EMA, SMA, ema, sma

from .helpers import random_walk

SIZINGS = [
    {"model": "fixed", "quantity": 50},
    {"model": "fraction", "fraction": 1.0},
    {"model": "fraction", "fraction": 0.3},
    {"model": "volatility", "target_pct": 12, "lookback": 10, "max_leverage": 1.5},
]
COMMISSIONS = [
    None,
    {"model": "per_share", "rate": 0.005, "minimum": 1.0},
    {"model": "percent", "rate_pct": 0.05},
]
SLIPPAGES = [None, {"model": "bps", "bps": 3}, {"model": "range", "fraction": 0.2}]


def both(bars, params, **kw):
    e = run_backtest("ma_crossover", bars, params, engine="event", **kw)
    v = run_backtest("ma_crossover", bars, params, engine="vectorised", **kw)
    return e, v


def assert_same(e, v):
    assert e.engine == "event" and v.engine == "vectorised"
    assert e.trade_signature() == v.trade_signature()
    assert [t.pnl for t in e.trades] == [t.pnl for t in v.trades]
    assert np.array_equal(e.equity_values, v.equity_values)
    assert np.array_equal(e.position_values, v.position_values)
    assert e.metrics == v.metrics
    assert e.open_position == v.open_position
    assert e.open_orders == v.open_orders


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 600),
    fast=st.integers(1, 15),
    gap=st.integers(1, 40),
    kind=st.sampled_from(["sma", "ema"]),
    allow_short=st.booleans(),
    sizing=st.sampled_from(SIZINGS),
    commission=st.sampled_from(COMMISSIONS),
    slippage=st.sampled_from(SLIPPAGES),
)
def test_same_trades_on_random_walks(
    seed, n, fast, gap, kind, allow_short, sizing, commission, slippage
):
    bars = random_walk(n, seed)
    params = {"fast": fast, "slow": fast + gap, "kind": kind, "allow_short": allow_short}
    e, v = both(bars, params, sizing=sizing, commission=commission, slippage=slippage, cash=50_000)
    assert_same(e, v)


def test_same_trades_on_a_long_walk_with_many_trades():
    bars = random_walk(20_000, seed=7, vol=0.002)
    e, v = both(bars, {"fast": 5, "slow": 20, "allow_short": True})
    assert len(e.trades) > 500
    assert_same(e, v)


def test_auto_engine_picks_vectorised_when_supported():
    bars = random_walk(100, seed=1)
    assert run_backtest("ma_crossover", bars, {"fast": 3, "slow": 9}).engine == "vectorised"
    assert run_backtest("mean_reversion", bars, {}).engine == "event"
    with pytest.raises(ValueError, match="no vectorised form"):
        run_backtest("mean_reversion", bars, {}, engine="vectorised")


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(0.01, 1e5, allow_nan=False), min_size=1, max_size=300),
    n=st.integers(1, 40),
)
def test_incremental_averages_are_bit_identical_to_arrays(values, n):
    inc_sma, inc_ema = SMA(n), EMA(n)
    a = np.array([inc_sma.update(x) for x in values])
    b = np.array([inc_ema.update(x) for x in values])
    np.testing.assert_array_equal(a, sma(np.array(values), n))
    np.testing.assert_array_equal(b, ema(np.array(values), n))


def test_sma_matches_pandas_rolling_mean():
    import pandas as pd

    x = np.random.default_rng(0).normal(100, 5, 1000)
    np.testing.assert_allclose(sma(x, 20), pd.Series(x).rolling(20).mean(), rtol=1e-12)
    np.testing.assert_allclose(
        ema(x, 20)[19:], pd.Series(x).ewm(span=20, adjust=False).mean()[19:], rtol=1e-12
    )
