import io

import pytest

from algo_trading import ParameterError
from algo_trading.data import SAMPLE_CSV, load_csv
from algo_trading.runner import run_backtest
from algo_trading.sweep import expand_grid, run_sweep


def test_expand_grid():
    assert expand_grid({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    with pytest.raises(ValueError):
        expand_grid({"a": []})


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_ranks_by_metric_and_reports_invalid_points(workers):
    bars = load_csv(SAMPLE_CSV)
    err = io.StringIO()
    grid = {"fast": [5, 10, 30], "slow": [20, 50]}
    result = run_sweep(
        "ma_crossover", bars, grid, metric="total_return_pct", workers=workers, progress=err
    )
    assert len(result.rows) == 5 and len(result.errors) == 1  # fast=30, slow=20 is invalid
    assert result.errors[0]["params"] == {"fast": 30, "slow": 20}
    assert "fast must be less than slow" in result.errors[0]["error"]
    values = [row["metrics"]["total_return_pct"] for row in result.rows]
    assert values == sorted(values, reverse=True)
    best = result.best
    direct = run_backtest("ma_crossover", bars, best["params"])
    assert direct.metrics == best["metrics"]
    log = err.getvalue()
    assert "sweep 6/6" in log and log.strip().splitlines()[-1] == result.summary()
    assert result.summary().startswith("sweep ma_crossover: 6 runs (1 invalid)")
    assert len(result.to_frame()) == 6


def test_sweep_lower_is_better_and_bad_input():
    bars = load_csv(SAMPLE_CSV)
    result = run_sweep(
        "ma_crossover",
        bars,
        {"fast": [5, 10], "slow": [40]},
        metric="volatility_pct",
        workers=1,
        progress=None,
    )
    values = [row["metrics"]["volatility_pct"] for row in result.rows]
    assert values == sorted(values)
    with pytest.raises(ParameterError, match="^fsat is not a parameter"):
        run_sweep("ma_crossover", bars, {"fsat": [1]}, progress=None)
    with pytest.raises(ValueError, match="metric must be one of"):
        run_sweep("ma_crossover", bars, {"fast": [1]}, metric="alpha", progress=None)
