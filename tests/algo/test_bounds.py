"""Bounds on costs, sizing, cash and prices, and metrics that are always valid JSON.

A new-user trial found a 1e308 commission stored inf in the metrics (a 500 from the database's
JSON check), a 100% commission reported a positive Sharpe, prices of 1.7e308 failed in the
chart with a numpy message, and a misspelt sizing parameter leaked Python's TypeError.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algo_trading.costs import CostConfigError, commission_from_spec, slippage_from_spec
from algo_trading.data import SAMPLE_CSV, DataError, load_csv
from algo_trading.metrics import compute_metrics, json_safe, period_returns
from algo_trading.runner import run_backtest
from algo_trading.sizing import sizer_from_spec

SMALL = load_csv(io.StringIO("\n".join(SAMPLE_CSV.read_text().splitlines()[:150])))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"model": "percent", "rate_pct": 1e308}, "rate_pct must be a number >= 0 and < 100, got 1e+308"),
        ({"model": "percent", "rate_pct": 100}, "rate_pct must be a number >= 0 and < 100, got 100"),
        ({"model": "percent", "rate_pct": -0.1}, "rate_pct must be a number >= 0"),
        ({"model": "percent", "rate_pct": math.nan}, "rate_pct must be a number"),
        ({"model": "percent", "rate_pct": math.inf}, "rate_pct must be a number"),
        ({"model": "percent", "rate_pct": True}, "rate_pct must be a number"),
        ({"model": "percent", "rate_pct": "1"}, "rate_pct must be a number"),
        ({"model": "percent", "minimum": 1e300}, "minimum must be a number >= 0 and <= 1e+09"),
        ({"model": "per_share", "rate": 1e10}, "rate must be a number >= 0 and <= 1e+09"),
        ({"model": "per_share", "rate": 10**400}, "rate must be a number >= 0 and <= 1e+09, got 1000"),
        ({"model": "percent", "qty": 5}, "commission 'percent': unknown parameter(s) qty; accepted: rate_pct, minimum"),
        ({"model": "none", "rate": 1}, "commission 'none': unknown parameter(s) rate; it takes no parameters"),
        ({"model": ["percent"]}, "commission model must be one of none, per_share, percent"),
    ],
)  # fmt: skip
def test_commission_bounds_name_the_parameter(spec, message):
    with pytest.raises(CostConfigError) as excinfo:
        commission_from_spec(spec)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"model": "bps", "bps": 10_000}, "slippage 'bps': bps must be a number >= 0 and < 10000"),
        ({"model": "bps", "bps": 1e308}, "bps must be a number >= 0 and < 10000"),
        ({"model": "bps", "bps": -1}, "bps must be a number >= 0"),
        ({"model": "range", "fraction": 1.5}, "fraction must be a number >= 0 and <= 1"),
        ({"model": "range", "fraction": math.nan}, "fraction must be a number"),
        ({"model": "bps", "pct": 1}, "unknown parameter(s) pct; accepted: bps"),
    ],
)
def test_slippage_bounds_name_the_parameter(spec, message):
    with pytest.raises(CostConfigError) as excinfo:
        slippage_from_spec(spec)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"model": "fixed", "qty": 5}, "sizing 'fixed': unknown parameter(s) qty; accepted: quantity"),
        ({"model": "fixed", "quantity": 0}, "quantity must be a whole number of shares from 1 to 1000000000"),
        ({"model": "fixed", "quantity": 10**12}, "quantity must be a whole number"),
        ({"model": "fixed", "quantity": 2.5}, "quantity must be a whole number"),
        ({"model": "fraction", "fraction": 1e308}, "fraction must be a number > 0 and <= 10"),
        ({"model": "fraction", "fraction": 0}, "fraction must be a number > 0"),
        ({"model": "volatility", "max_leverage": 1e308}, "max_leverage must be a number > 0 and <= 10"),
        ({"model": "volatility", "target_pct": math.inf}, "target_pct must be a number > 0"),
        ({"model": "volatility", "lookback": 10**30}, "lookback must be an int from 2 to 100000"),
        ({"model": "volatility", "window": 3}, "accepted: target_pct, lookback, max_leverage"),
    ],
)  # fmt: skip
def test_sizing_bounds_name_the_parameter(spec, message):
    with pytest.raises(CostConfigError) as excinfo:
        sizer_from_spec(spec)
    assert message in str(excinfo.value)


def test_cash_has_an_upper_bound():
    with pytest.raises(ValueError, match=r"cash must be a positive number of at most 1e\+12"):
        run_backtest("ma_crossover", SMALL, cash=1e300)
    assert run_backtest("ma_crossover", SMALL, cash=1e12).metrics["final_equity"] > 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.7e308", "line 3: Open 1.7e+308 is out of range (prices must be between 1e-08 and 1e+09)"),
        ("1e-300", "line 3: Open 1e-300 is out of range"),
    ],
)  # fmt: skip
def test_prices_must_be_in_a_sane_range(value, message):
    text = (
        "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10,100\n"
        f"2024-01-03,{value},{value},{value},{value},100\n"
    )
    with pytest.raises(DataError) as excinfo:
        load_csv(io.StringIO(text))
    assert message in str(excinfo.value)
    huge_volume = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10,1e300\n"
    with pytest.raises(DataError, match="Volume 1e\\+300 is out of range"):
        load_csv(io.StringIO(huge_volume))


def test_returns_stop_at_ruin_so_a_growing_loss_is_not_a_gain():
    # 100 -> 50 -> -20 (ruin) -> -60 -> -100: the loss grows, yet -60/-20 - 1 = +200%.
    rets = period_returns(np.array([50.0, -20.0, -60.0, -100.0]), 100.0)
    np.testing.assert_allclose(rets, [-0.5, -1.0])
    eq = np.array([100.0] * 20 + [-20.0, -60.0, -100.0, -140.0])
    n = len(eq)
    ts = np.arange(n, dtype=np.int64) * 86_400 * 10**9
    m = compute_metrics(eq, np.zeros(n), np.full(n, 10.0), ts, [], 100.0, 252.0)
    assert m["sharpe"] < 0 and m["sortino"] < 0
    assert m["total_return_pct"] == -240.0 and m["cagr_pct"] == -100.0


def test_a_commission_that_wipes_out_the_account_has_a_negative_sharpe():
    result = run_backtest(
        "ma_crossover", str(SAMPLE_CSV), commission={"model": "percent", "rate_pct": 99.99}
    )
    m = result.metrics
    assert m["total_return_pct"] < -100 and result.equity_values.min() < 0
    assert m["sharpe"] < 0 and m["sortino"] < 0  # it was +0.693 at 100%


def test_metrics_of_a_non_finite_curve_are_none_not_inf():
    eq = np.array([100.0, 1e308, np.inf, -np.inf, np.nan])
    n = len(eq)
    ts = np.arange(n, dtype=np.int64) * 86_400 * 10**9
    m = compute_metrics(eq, np.ones(n), np.full(n, 10.0), ts, [], 100.0, 252.0, 0.0, np.inf)
    text = json.dumps(m, allow_nan=False)  # raises on inf/NaN
    assert m["final_equity"] is None and m["total_commission"] is None
    assert json.loads(text) == m
    assert json_safe({"a": [1.0, math.inf, (math.nan, "x")]}) == {"a": [1.0, None, [None, "x"]]}


extreme = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 99.999, 100, 9999.99, 10_000, 1e9, 1e308, -1e308, 5e-324]),
    st.integers(min_value=-(10**30), max_value=10**30),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(
        [
            ("commission", "percent", "rate_pct"),
            ("commission", "percent", "minimum"),
            ("commission", "per_share", "rate"),
            ("commission", "per_share", "minimum"),
            ("slippage", "bps", "bps"),
            ("slippage", "range", "fraction"),
            ("sizing", "fixed", "quantity"),
            ("sizing", "fraction", "fraction"),
            ("sizing", "volatility", "max_leverage"),
            ("sizing", "volatility", "target_pct"),
            ("cash", None, None),
        ]
    ),
    value=extreme,
)
def test_no_extreme_number_escapes_as_anything_but_a_clear_error(field, value):
    kind, model, name = field
    kwargs = {"cash": value} if kind == "cash" else {kind: {"model": model, name: value}}
    try:
        result = run_backtest("ma_crossover", SMALL, {"fast": 3, "slow": 8}, **kwargs)
    except CostConfigError as exc:
        assert kind in str(exc) and name in str(exc)
        return
    except ValueError as exc:
        assert kind == "cash" and "cash must be" in str(exc)
        return
    json.dumps(result.to_dict(max_equity_points=10), allow_nan=False)
