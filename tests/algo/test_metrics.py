import math

import numpy as np
import pandas as pd
import pytest

from algo_trading.ledger import Trade
from algo_trading.metrics import METRIC_KEYS, compute_metrics, drawdown, infer_periods_per_year


def ts_daily(n):
    return pd.bdate_range("2024-01-01", periods=n).as_unit("ns").asi8


def trade(pnl):
    return Trade("long", 0, 0, 0, 1, 100.0, 100.0 + pnl / 10, 10, pnl, pnl / 10, 0.0)


def metrics(equity, position=None, close=None, trades=(), cash=None, ppy=252.0, ts=None):
    equity = np.asarray(equity, dtype=float)
    n = len(equity)
    return compute_metrics(
        equity,
        np.zeros(n) if position is None else np.asarray(position, dtype=float),
        np.linspace(100, 110, n) if close is None else np.asarray(close, dtype=float),
        ts_daily(n) if ts is None else ts,
        list(trades),
        equity[0] if cash is None else cash,
        ppy,
    )


def test_keys_are_the_contract():
    m = metrics([100, 101, 102])
    assert tuple(m) == METRIC_KEYS
    for key in [
        "total_return_pct",
        "cagr_pct",
        "volatility_pct",
        "sharpe",
        "sortino",
        "max_drawdown_pct",
        "max_drawdown_duration_bars",
        "max_drawdown_duration_days",
        "win_rate_pct",
        "profit_factor",
        "num_trades",
        "exposure_pct",
        "buy_hold_return_pct",
    ]:
        assert key in m


def test_returns_and_cagr():
    # 252 daily bars doubling the money: 100% total and 100% CAGR (one year).
    eq = 100_000 * 2 ** (np.arange(1, 253) / 252)
    m = metrics(eq, cash=100_000)
    assert m["total_return_pct"] == pytest.approx(100.0)
    assert m["cagr_pct"] == pytest.approx(100.0, abs=1e-3)
    # Two years at +21%: CAGR 10%.
    eq2 = 100_000 * 1.21 ** (np.arange(1, 505) / 504)
    assert metrics(eq2, cash=100_000)["cagr_pct"] == pytest.approx(10.0, abs=1e-3)


def test_volatility_sharpe_sortino_match_formulas():
    rng = np.random.default_rng(3)
    r = rng.normal(0.0005, 0.01, 500)
    eq = 1000 * np.cumprod(1 + r)
    m = metrics(eq, cash=1000)
    assert m["volatility_pct"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(252) * 100, rel=1e-4)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-3)
    downside = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert m["sortino"] == pytest.approx(r.mean() / downside * math.sqrt(252), rel=1e-3)


def test_drawdown_depth_and_duration():
    # peak 120 at bar 1, trough 90 (-25%), recovered at bar 5 (>= 120)
    eq = [100, 120, 110, 90, 100, 125, 130]
    m = metrics(eq, cash=100)
    assert m["max_drawdown_pct"] == pytest.approx(-25.0)
    assert m["max_drawdown_duration_bars"] == 3  # bars 2, 3, 4 below the peak
    assert m["max_drawdown_duration_days"] == 6.0  # Tue 2 Jan (peak) to Mon 8 Jan (recovery)
    np.testing.assert_allclose(drawdown(np.array(eq, float))[3], -0.25)


def test_unrecovered_drawdown_runs_to_the_end():
    m = metrics([100, 110, 100, 95, 96], cash=100)
    assert m["max_drawdown_duration_bars"] == 3


def test_trade_statistics():
    m = metrics([100, 101, 102], trades=[trade(50), trade(-20), trade(30), trade(-10)])
    assert m["num_trades"] == 4
    assert m["win_rate_pct"] == 50.0
    assert m["profit_factor"] == pytest.approx(80 / 30, abs=1e-4)


def test_undefined_values_are_none():
    m = metrics([100, 100, 100], cash=100)
    assert m["sharpe"] is None and m["sortino"] is None
    assert m["win_rate_pct"] is None and m["profit_factor"] is None and m["num_trades"] == 0
    assert metrics([100, 101], trades=[trade(5)])["profit_factor"] is None  # no losing trade


def test_exposure_and_buy_hold():
    m = metrics([100] * 4, position=[0, 10, 10, 0], close=[50, 55, 60, 75])
    assert m["exposure_pct"] == 50.0
    assert m["buy_hold_return_pct"] == 50.0


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("B", 252.0),
        ("D", 252.0),
        ("W", 52.0),
        ("MS", 12.0),
        ("1min", 252 * 390),
        ("5min", 252 * 78),
        ("h", 252 * 6.5),
    ],
)
def test_periods_per_year_inferred_from_spacing(freq, expected):
    ts = pd.date_range("2024-01-01", periods=50, freq=freq).as_unit("ns").asi8
    assert infer_periods_per_year(ts) == pytest.approx(expected)
