"""`manage.py backtest` and `manage.py sweep` on the shipped sample bars."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from algo_trading.data import SAMPLE_CSV
from trading_app.models import BacktestRun

pytestmark = pytest.mark.django_db

ISSUE_METRICS = {
    "total_return_pct",
    "cagr_pct",
    "volatility_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "num_trades",
    "exposure_pct",
    "buy_hold_return_pct",
}


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_backtest_json_prints_metrics_and_trades_and_stores_the_run(media):
    out, err = run(
        "backtest", "ma_crossover", "--symbol", "AAPL", "--start", "2020-01-01",
        "--end", "2024-12-31", "--data", str(SAMPLE_CSV), "--param", "fast=10",
        "--param", "slow=30", "--cash", "50000", "--commission", "0.1", "--json",
    )  # fmt: skip
    result = json.loads(out)  # stdout is the JSON alone; progress went to stderr
    assert set(result) == {"metrics", "trades"}
    assert set(result["metrics"]) >= ISSUE_METRICS
    assert result["metrics"]["num_trades"] == len(result["trades"]) > 0
    for trade in result["trades"]:
        assert {"entry_time", "exit_time", "entry_price", "exit_price", "size", "pnl"} <= set(trade)
    assert "504 bars of AAPL" in err and "return" in err
    stored = BacktestRun.objects.get()
    assert stored.status == "done" and stored.symbol == "AAPL"
    assert stored.params == {"fast": 10, "slow": 30, "kind": "sma", "allow_short": False}
    assert stored.config["commission"] == {"model": "percent", "rate_pct": 0.1}
    assert stored.config["cash"] == 50000.0
    assert stored.metrics == result["metrics"] and stored.trades == result["trades"]
    chart, report = Path(stored.chart.path), Path(stored.report.path)
    assert chart.read_bytes().startswith(b"\x89PNG") and str(media) in str(chart)
    assert "<h1>Backtest: ma_crossover AAPL</h1>" in report.read_text()
    assert f"chart:  {chart}" in err and f"report: {report}" in err


def test_backtest_without_json_prints_progress_summary_and_paths(media):
    out, _ = run("backtest", "momentum_breakout", "--data", str(SAMPLE_CSV))
    lines = out.splitlines()
    assert lines[0].startswith("loading bars from")
    assert any(line.startswith("momentum_breakout SAMPLE_AAPL 504 bars") for line in lines)
    assert any(line.startswith("chart:") for line in lines)
    assert any(line.startswith("report:") for line in lines)


def test_backtest_date_range_selects_bars(media):
    _, err = run(
        "backtest", "ma_crossover", "--data", str(SAMPLE_CSV), "--symbol", "aapl",
        "--start", "2024-01-01", "--end", "2024-06-30", "--json",
    )  # fmt: skip
    stored = BacktestRun.objects.get()
    assert stored.symbol == "AAPL" and stored.config["bars"] == 130
    assert "130 bars of AAPL, 2024-01-01 to 2024-06-28" in err


def test_offline_without_data_is_a_clear_error_naming_data(media, offline):
    with pytest.raises(CommandError) as excinfo:
        run("backtest", "ma_crossover", "--symbol", "AAPL", "--start", "2020-01-01",
            "--end", "2024-12-31")  # fmt: skip
    message = str(excinfo.value)
    assert "could not download daily bars for AAPL from Yahoo Finance" in message
    assert "--data FILE.csv" in message
    assert offline, "yfinance was asked"
    assert not BacktestRun.objects.exists()


def test_downloaded_bars_are_cached_on_disk(media, settings, tmp_path, monkeypatch):
    import yfinance

    settings.VAR_DIR = tmp_path / "var"
    frame = pd.read_csv(SAMPLE_CSV, index_col="Date", parse_dates=True)
    calls = []

    def download(*args, **kwargs):
        calls.append(kwargs)
        columns = pd.MultiIndex.from_product([frame.columns, ["AAPL"]], names=["Price", "Ticker"])
        return pd.DataFrame(frame.to_numpy(), index=frame.index, columns=columns)

    monkeypatch.setattr(yfinance, "download", download)
    args = ("backtest", "ma_crossover", "--symbol", "AAPL", "--start", "2023-01-01",
            "--end", "2024-12-31", "--json")  # fmt: skip
    first = json.loads(run(*args)[0])
    second = json.loads(run(*args)[0])
    assert len(calls) == 1 and calls[0]["end"] == "2025-01-01"  # yfinance's end is exclusive
    assert first == second
    assert (settings.VAR_DIR / "cache" / "bars" / "AAPL_2023-01-01_2024-12-31_1d.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "fast=0"], "fast must be an int between 1 and 500, got '0'"),
        (["--param", "fsat=3"], "fsat is not a parameter of ma_crossover"),
        (["--param", "fast"], "--param must look like name=value"),
        (["--param", "fast=50", "--param", "slow=20"], "fast must be less than slow"),
        (["--start", "yesterday"], "--start must be a date like 2020-01-01"),
        (["--start", "2024-06-01", "--end", "2024-01-01"], "is after --end"),
        (["--start", "2030-01-01"], "only 0 bar(s) between 2030-01-01"),
        (["--sizing", "{bad"], "--sizing is not valid JSON"),
        (["--sizing", '{"model": "kelly"}'], "sizing model must be one of"),
        (
            ["--commission", "1e308"],
            "commission 'percent': rate_pct must be a number >= 0 and < 100, got 1e+308",
        ),
        (["--commission", "100"], "rate_pct must be a number >= 0 and < 100, got 100.0"),
        (["--commission", "nan"], "rate_pct must be a number >= 0 and < 100, got nan"),
        (["--commission", "-1"], "rate_pct must be a number >= 0"),
        (
            ["--slippage", '{"model": "bps", "bps": Infinity}'],
            "slippage 'bps': bps must be a number",
        ),
        (["--slippage", '{"model": "bps", "bps": 1e308}'], "bps must be a number >= 0 and < 10000"),
        (
            ["--sizing", '{"model": "fixed", "qty": 5}'],
            "sizing 'fixed': unknown parameter(s) qty; accepted: quantity",
        ),
        (["--cash", "1e400"], "cash must be a positive number of at most 1e+12, got inf"),
        (["--cash", "1e300"], "cash must be a positive number of at most 1e+12"),
    ],
)
def test_bad_input_is_a_clear_error(media, args, message):
    with pytest.raises(CommandError, match=None) as excinfo:
        run("backtest", "ma_crossover", "--data", str(SAMPLE_CSV), *args)
    assert message in str(excinfo.value)
    assert not BacktestRun.objects.exists()


def test_unknown_strategy_and_missing_file(media, tmp_path):
    with pytest.raises(CommandError, match="unknown strategy 'nope'"):
        run("backtest", "nope", "--data", str(SAMPLE_CSV))
    with pytest.raises(CommandError, match="no such file"):
        run("backtest", "ma_crossover", "--data", str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close\n2024-01-02,1,2,1,2\n")
    with pytest.raises(CommandError, match="missing column Volume"):
        run("backtest", "ma_crossover", "--data", str(bad))


def test_backtest_exits_non_zero_from_a_shell(media, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "TRADINGSIM_VAR_DIR": str(tmp_path / "var")}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "manage.py", "backtest", "ma_crossover", "--data", str(SAMPLE_CSV),
         "--param", "slow=0"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "slow must be an int between" in done.stderr


def test_a_huge_commission_is_one_line_and_exit_1_from_a_shell(media, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "TRADINGSIM_VAR_DIR": str(tmp_path / "var")}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "manage.py", "backtest", "ma_crossover", "--data", str(SAMPLE_CSV),
         "--commission", "1e308"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "CommandError: commission 'percent': rate_pct must be a number >= 0 and < 100, got 1e+308"
    ]


def test_a_ruinous_commission_prints_valid_json_with_an_honest_sharpe(media):
    out, _err = run(
        "backtest", "ma_crossover", "--data", str(SAMPLE_CSV), "--commission", "99.99", "--json"
    )
    metrics = json.loads(out)["metrics"]
    assert metrics["total_return_pct"] < -100 and metrics["sharpe"] < 0


# ------------------------------------------------------------------------------ sweep


def test_sweep_ranks_the_grid_on_every_core():
    out, err = run(
        "sweep", "ma_crossover", "--data", str(SAMPLE_CSV), "--grid", "fast=5,10,20",
        "--grid", "slow=50,100", "--metric", "sharpe",
    )  # fmt: skip
    lines = out.splitlines()
    assert lines[0].startswith("sweeping ma_crossover over 504 bars")
    header = lines[1].split()
    assert header[:4] == ["rank", "fast", "slow", "sharpe"]
    rows = [line.split() for line in lines[2:8]]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5, 6]
    sharpes = [float(r[3]) for r in rows]
    assert sharpes == sorted(sharpes, reverse=True)
    assert lines[-1].startswith("sweep ma_crossover: 6 runs (0 invalid)")
    assert "best sharpe=" in lines[-1]
    assert "sweep 6/6" in err and "sweep ma_crossover:" not in err  # summary printed once


def test_sweep_lists_invalid_combinations_and_ranks_ascending_metrics():
    out, _ = run(
        "sweep", "ma_crossover", "--data", str(SAMPLE_CSV), "--grid", "fast=5,60",
        "--grid", "slow=50", "--metric", "volatility_pct", "--workers", "1",
    )  # fmt: skip
    assert 'invalid: {"fast": 60, "slow": 50}: fast must be less than slow' in out
    assert "6 runs" not in out and "2 runs (1 invalid)" in out


def test_sweep_json_and_errors():
    out, _ = run("sweep", "mean_reversion", "--data", str(SAMPLE_CSV), "--grid",
                 "lookback=10,20", "--workers", "1", "--json")  # fmt: skip
    payload = json.loads(out)
    assert payload["strategy"] == "mean_reversion" and len(payload["rows"]) == 2
    with pytest.raises(CommandError, match="give at least one --grid"):
        run("sweep", "ma_crossover", "--data", str(SAMPLE_CSV))
    with pytest.raises(CommandError, match="--metric must be one of"):
        run("sweep", "ma_crossover", "--data", str(SAMPLE_CSV), "--grid", "fast=5",
            "--metric", "luck")  # fmt: skip
    with pytest.raises(CommandError, match="fsat is not a parameter"):
        run("sweep", "ma_crossover", "--data", str(SAMPLE_CSV), "--grid", "fsat=5")
