import base64
import json
import re

import pytest

from algo_trading import DataError, ParameterError, run_backtest
from algo_trading.costs import CostConfigError
from algo_trading.data import SAMPLE_CSV
from algo_trading.metrics import METRIC_KEYS
from algo_trading.registry import UnknownStrategyError

from .helpers import random_walk

TRADE_KEYS = {
    "entry_time",
    "exit_time",
    "side",
    "entry_price",
    "exit_price",
    "size",
    "pnl",
    "return_pct",
}


@pytest.fixture(scope="module")
def result():
    return run_backtest(
        "ma_crossover",
        SAMPLE_CSV,
        {"fast": 10, "slow": 30},
        commission={"model": "per_share", "rate": 0.005, "minimum": 1.0},
        slippage={"model": "bps", "bps": 2},
    )


def test_json_shape(result):
    data = json.loads(result.to_json())
    assert data["strategy"] == "ma_crossover" and data["symbol"] == "sample_AAPL"
    assert data["params"] == {"fast": 10, "slow": 30, "kind": "sma", "allow_short": False}
    assert tuple(data["metrics"]) == METRIC_KEYS
    assert data["bars"] == len(data["equity_curve"]) == result.bars
    assert data["trades"] and set(data["trades"][0]) >= TRADE_KEYS
    assert data["settings"]["commission"] == {"model": "per_share", "rate": 0.005, "minimum": 1.0}
    t = data["trades"][0]
    assert t["entry_time"].endswith("+00:00") and t["side"] == "long"
    for money in (t["pnl"], t["entry_price"], data["equity_curve"][-1][1]):
        assert round(money, 2) == money  # cents


def test_equity_curve_can_be_thinned(result):
    data = result.to_dict(max_equity_points=50)
    assert len(data["equity_curve"]) == 50
    assert data["equity_curve"][-1][1] == round(float(result.equity_values[-1]), 2)


def test_png_and_html(tmp_path, result):
    png = result.plot_png(tmp_path / "chart.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "chart.png").stat().st_size == len(png)
    html = result.to_html()
    assert html.startswith("<!DOCTYPE html>")
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(embedded)[:4] == b"\x89PNG"
    assert "sharpe" in html and "entry_time" in html and "<script" not in html
    path = result.save_html(tmp_path / "report.html")
    assert path.read_text().count("<table>") == 2


def test_buy_hold_series(result):
    bh = result.buy_hold
    assert bh.iloc[0] == 100_000
    assert bh.iloc[-1] / 100_000 * 100 - 100 == pytest.approx(
        result.metrics["buy_hold_return_pct"], abs=1e-3
    )


def test_run_backtest_rejects_bad_input():
    bars = random_walk(50, seed=0)
    with pytest.raises(UnknownStrategyError):
        run_backtest("nope", bars)
    with pytest.raises(ParameterError, match="^slow must be"):
        run_backtest("ma_crossover", bars, {"slow": 1})
    with pytest.raises(CostConfigError, match="commission model must be one of"):
        run_backtest("ma_crossover", bars, commission={"model": "flat"})
    with pytest.raises(CostConfigError, match="minimum must be a number >= 0"):
        run_backtest("ma_crossover", bars, commission={"model": "per_share", "minimum": -1})
    with pytest.raises(CostConfigError, match="sizing model"):
        run_backtest("ma_crossover", bars, sizing={"model": "kelly"})
    with pytest.raises(ValueError, match="cash must be a positive number"):
        run_backtest("ma_crossover", bars, cash=0)
    with pytest.raises(ValueError, match="engine must be one of"):
        run_backtest("ma_crossover", bars, engine="gpu")
    with pytest.raises(DataError):
        run_backtest("ma_crossover", bars.iloc[:1])
