import json

from algo_trading.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    names = {s["name"] for s in json.loads(capsys.readouterr().out)}
    assert {"ma_crossover", "mean_reversion", "momentum_breakout", "ml_classifier"} <= names


def test_backtest_writes_reports(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(
        ["backtest", "ma_crossover", "--param", "fast=5", "--param", "slow=20", "--json", str(out),
         "--html", str(tmp_path / "r.html"), "--sizing", '{"model": "fixed", "quantity": 10}']
    )  # fmt: skip
    assert rc == 0
    assert json.loads(out.read_text())["params"]["fast"] == 5
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert "ma_crossover" in capsys.readouterr().out


def test_bad_parameter_is_a_clean_error(capsys):
    assert main(["backtest", "ma_crossover", "--param", "fast=0"]) == 2
    assert "fast must be an int between 1 and 500" in capsys.readouterr().err


def test_sweep_synthetic(capsys):
    rc = main(
        [
            "sweep",
            "ma_crossover",
            "--synthetic",
            "300",
            "--grid",
            "fast=3,5",
            "--grid",
            "slow=10",
            "--workers",
            "1",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert '{"fast": 3, "slow": 10}' in captured.out
    assert "sweep ma_crossover: 2 runs" in captured.err
