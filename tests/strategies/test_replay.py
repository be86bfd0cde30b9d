"""Replay of the exchange's recorded trades: bars from Trade rows, `manage.py backtest --replay
exchange` and POST /api/backtests/ with "data": "exchange"."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from algo_trading.django_adapters.recorded import (
    ReplayError,
    UnknownSymbol,
    Window,
    bars_from_trades,
    exchange_bars,
    exchange_trades,
)
from trading_app.management.commands.backtest import Command as BacktestCommand
from trading_app.matching_worker.worker import MatchingWorker
from trading_app.models import BacktestRun, Trade

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # on a minute boundary


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def record(alice, bob, instruments):
    """Store executions as the matching worker does: two rows each (taker and maker sides)."""
    counter = iter(range(1, 1_000_000))

    def store(executions, symbol: str = "AAPL") -> None:
        rows = []
        for k, (ts, price, qty) in enumerate(executions):
            execution_id = next(counter)
            buyer_takes = k % 2 == 0
            for account, side, liquidity in (
                (bob[0], "buy", "taker" if buyer_takes else "maker"),
                (alice[0], "sell", "maker" if buyer_takes else "taker"),
            ):
                rows.append(
                    Trade(
                        account=account,
                        instrument=instruments[symbol],
                        ticker=symbol,
                        side=side,
                        price=Decimal(price),
                        quantity=qty,
                        timestamp=ts,
                        source="exchange",
                        execution_id=execution_id,
                        liquidity=liquidity,
                    )
                )
        Trade.objects.bulk_create(rows)

    return store


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def hand_bars(executions, seconds: int) -> list[tuple]:
    """(bar start, O, H, L, C, V) computed without pandas: bucket = floor(epoch s / seconds)."""
    buckets: dict[int, list] = {}
    for ts, price, qty in executions:
        buckets.setdefault(int(ts.timestamp()) // seconds, []).append((float(price), qty))
    out = []
    for bucket in sorted(buckets):
        prices = [p for p, _ in buckets[bucket]]
        start = datetime.fromtimestamp(bucket * seconds, UTC).replace(tzinfo=None)
        vol = float(sum(q for _, q in buckets[bucket]))
        out.append((start, prices[0], max(prices), min(prices), prices[-1], vol))
    return out


def as_tuples(frame: pd.DataFrame) -> list[tuple]:
    return [
        (ts.to_pydatetime(), *(float(v) for v in row))
        for ts, row in zip(
            frame.index, frame[["Open", "High", "Low", "Close", "Volume"]].values, strict=True
        )
    ]


def random_walk(n: int, seed: int = 7) -> list[tuple]:
    """n executions over ~n*20 s with quiet minutes (no bar), prices on the cent grid."""
    rng = random.Random(seed)
    price, t, out = Decimal("190.00"), 0.0, []
    for _ in range(n):
        t += rng.choice([1.5, 3, 7, 20, 45, 130])  # 130 s skips a whole minute now and then
        price = max(Decimal("150.00"), price + Decimal(rng.randint(-12, 12)) / 100)
        out.append((at(t), str(price), rng.randint(1, 50)))
    return out


# ------------------------------------------------------------------------------ bars


def test_bars_are_the_hand_computed_ohlcv_one_side_counted(record, instruments):
    executions = [
        (at(0), "190.00", 10),  # minute 0: open
        (at(12.5), "191.50", 5),  # high
        (at(30), "189.25", 7),  # low
        (at(59.999), "190.10", 3),  # close: last of its interval
        (at(60), "190.20", 4),  # exactly on the boundary: the next bar's open
        (at(61), "190.00", 6),
        # minutes 2 and 3 have no trade: no bar
        (at(245), "188.00", 2),
    ]
    record(executions)
    record([(at(30), "420.00", 100)], symbol="MSFT")  # another symbol: not in AAPL's bars
    Trade.objects.create(  # a manual bookkeeping row: not the exchange's
        account=Trade.objects.first().account,
        instrument=instruments["AAPL"],
        ticker="AAPL",
        side="buy",
        price=Decimal("999.00"),
        quantity=1000,
        timestamp=at(40),
    )
    bars, n = exchange_bars("aapl", 60)
    assert n == 7  # executions, not rows (14 exchange rows of AAPL)
    assert Trade.objects.filter(ticker="AAPL", source="exchange").count() == 14
    assert as_tuples(bars) == [
        (datetime(2026, 1, 5, 14, 0), 190.0, 191.5, 189.25, 190.1, 25.0),
        (datetime(2026, 1, 5, 14, 1), 190.2, 190.2, 190.0, 190.0, 10.0),
        (datetime(2026, 1, 5, 14, 4), 188.0, 188.0, 188.0, 188.0, 2.0),
    ]
    assert as_tuples(bars) == hand_bars(executions, 60)
    assert list(bars.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert bars.index.tz is None and bars["Close"].dtype == "float64"


def test_bar_length_and_window_select_trades_in_start_inclusive_end_exclusive(record):
    executions = random_walk(300)
    record(executions)
    for seconds in (15, 60, 300):
        bars, _ = exchange_bars("AAPL", seconds)
        assert as_tuples(bars) == hand_bars(executions, seconds)
    window = Window(at(600), at(1800))
    inside = [e for e in executions if at(600) <= e[0] < at(1800)]
    bars, n = exchange_bars("AAPL", 60, window)
    assert n == len(inside) and as_tuples(bars) == hand_bars(inside, 60)


def test_bars_do_not_peek_later_trades_change_no_earlier_bar(record):
    executions = random_walk(200, seed=3)
    cut = executions[120][0]
    record(executions)
    full, _ = exchange_bars("AAPL", 60)
    trades = exchange_trades("AAPL")
    before = bars_from_trades(trades[trades.index < pd.Timestamp(cut)], 60)
    # every bar whose interval ended before the cut is identical with or without the future
    done = before[before.index + pd.Timedelta(seconds=60) <= pd.Timestamp(cut).tz_localize(None)]
    assert len(done) > 10
    pd.testing.assert_frame_equal(full.loc[done.index], done, check_freq=False)


def test_executions_through_the_api_and_the_worker_are_counted_once(
    alice_client, bob_client, settings
):
    settings.SESSION_END_UTC = ""
    worker = MatchingWorker()
    worker.recover()

    def order(client, side, qty, price):
        body = {"symbol": "AAPL", "side": side, "type": "limit", "time_in_force": "gtc"}
        response = client.post(
            "/api/orders/", {**body, "qty": qty, "limit_price": price}, format="json"
        )
        assert response.status_code == 201, response.content
        worker.process_batch([])

    order(alice_client, "sell", 10, "190.00")
    order(bob_client, "buy", 4, "191.00")  # fills 4 @ 190.00 (the resting price)
    order(bob_client, "buy", 6, "190.00")  # fills 6 @ 190.00, alice's order done
    order(bob_client, "sell", 5, "189.50")  # rests
    order(alice_client, "buy", 5, "189.75")  # fills 5 @ 189.50
    rows = Trade.objects.filter(ticker="AAPL", source="exchange")
    assert rows.count() == 6 and rows.filter(liquidity="taker").count() == 3
    trades = exchange_trades("AAPL")
    assert list(trades["price"]) == [190.0, 190.0, 189.5]
    assert list(trades["qty"]) == [4.0, 6.0, 5.0]
    bars = bars_from_trades(trades, 3600)
    first = trades.index[0].tz_convert("UTC").tz_localize(None).floor("3600s")
    if len(bars) == 1:  # (unless the test ran across the top of an hour)
        assert as_tuples(bars) == [(first.to_pydatetime(), 190.0, 190.0, 189.5, 189.5, 15.0)]
    assert bars["Volume"].sum() == 15.0  # one side of each execution


# ------------------------------------------------------------------------------ the command


def test_replay_gives_the_same_trades_as_the_same_bars_from_a_csv(record, media, tmp_path):
    executions = random_walk(600, seed=11)
    record(executions)
    args = ["--param", "fast=3", "--param", "slow=8", "--commission", "0.05", "--json"]
    out, err = run("backtest", "ma_crossover", "--symbol", "AAPL", "--replay", "exchange", *args)
    replayed = json.loads(out)
    expected = hand_bars(executions, 60)
    assert f"{len(expected)} bars of AAPL from 600 exchange trades" in err
    csv = tmp_path / "AAPL.csv"
    csv.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        + "".join(f"{t.isoformat(sep=' ')},{o!r},{h!r},{lo!r},{c!r},{v!r}\n" for t, o, h, lo, c, v in expected)
    )  # fmt: skip
    out, _ = run("backtest", "ma_crossover", "--data", str(csv), *args)
    from_csv = json.loads(out)
    assert replayed["metrics"]["num_trades"] > 3
    assert replayed == from_csv  # same trades, same metrics
    replay_run, csv_run = BacktestRun.objects.order_by("id")
    assert replay_run.config["data"] == "exchange" and replay_run.status == "done"
    assert replay_run.config["replay"] == {
        "source": "exchange",
        "bar_seconds": 60.0,
        "start": None,
        "end": None,
        "executions": 600,
    }
    assert replay_run.config["bars"] == len(expected) == csv_run.config["bars"]
    assert replay_run.trades == csv_run.trades and replay_run.chart and replay_run.report


def test_replay_window_bar_seconds_and_text_output(record, media):
    executions = random_walk(300)
    record(executions)
    out, _ = run(
        "backtest", "ma_crossover", "--symbol", "aapl", "--replay", "exchange",
        "--bar-seconds", "30", "--start", "2026-01-05T14:10:00Z", "--end", "2026-01-05T15:00:00",
        "--param", "fast=2", "--param", "slow=5",
    )  # fmt: skip
    inside = [e for e in executions if at(600) <= e[0] < at(3600)]
    lines = out.splitlines()
    assert lines[0] == "building 30s bars of AAPL from the exchange's recorded trades"
    assert lines[1].startswith(f"{len(hand_bars(inside, 30))} bars of AAPL from {len(inside)} ")
    assert any(line.startswith("ma_crossover AAPL ") for line in lines)
    stored = BacktestRun.objects.get()
    assert stored.config["replay"]["start"] == "2026-01-05T14:10:00+00:00"
    assert stored.config["replay"]["end"] == "2026-01-05T15:00:00+00:00"
    assert stored.config["bars"] == len(hand_bars(inside, 30))


def test_no_trades_in_the_window_is_a_one_line_error_naming_start_and_end(record, media):
    record(random_walk(50))
    with pytest.raises(CommandError) as caught:
        run(
            "backtest", "ma_crossover", "--symbol", "AAPL", "--replay", "exchange",
            "--start", "2025-01-01", "--end", "2025-01-31",
        )  # fmt: skip
    message = str(caught.value)
    assert "\n" not in message and "no trades of AAPL" in message
    assert "--start 2025-01-01T00:00:00+00:00" in message
    assert "--end 2025-02-01T00:00:00+00:00" in message  # the end date's whole day
    assert not BacktestRun.objects.exists()


def test_no_trades_exits_with_status_1(instruments, media, capsys):
    with pytest.raises(SystemExit) as caught:
        BacktestCommand().run_from_argv(
            ["manage.py", "backtest", "ma_crossover", "--symbol", "TSLA", "--replay", "exchange"]
        )
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "CommandError: no trades of TSLA recorded by the exchange" in err
    assert "no --start, no --end" in err


def test_one_bar_is_not_enough(record, media):
    record([(at(1), "190.00", 1), (at(2), "190.50", 1)])
    with pytest.raises(CommandError, match=r"2 trade\(s\) of AAPL .* make 1 bar of 60s"):
        run("backtest", "ma_crossover", "--symbol", "AAPL", "--replay", "exchange")


def test_unknown_symbol_and_bad_options(instruments, media):
    with pytest.raises(UnknownSymbol, match="unknown symbol 'NOPE'; the exchange lists: AAPL"):
        exchange_bars("NOPE")
    cases = [
        (["--symbol", "NOPE"], "unknown symbol 'NOPE'"),
        ([], "--symbol is required with --replay exchange"),
        (["--symbol", "AAPL", "--data", "x.csv"], "drop --data"),
        (["--symbol", "AAPL", "--start", "yesterday"], "--start must be a date like"),
        (["--symbol", "AAPL", "--start", "2026-01-02", "--end", "2026-01-01"], "is not before"),
        (["--symbol", "AAPL", "--bar-seconds", "0"], "bar seconds must be a positive number"),
    ]
    for extra, message in cases:
        with pytest.raises(CommandError, match=message):
            run("backtest", "ma_crossover", "--replay", "exchange", *extra)
    with pytest.raises(CommandError, match="--bar-seconds applies to --replay exchange only"):
        run("backtest", "ma_crossover", "--symbol", "AAPL", "--bar-seconds", "5")
    with pytest.raises(ReplayError):
        exchange_bars("AAPL")  # known, but nothing traded


# ------------------------------------------------------------------------------ the API


def test_api_replays_the_exchange_like_the_command(record, alice_client, media):
    executions = random_walk(400, seed=5)
    record(executions)
    out, _ = run(
        "backtest", "ma_crossover", "--symbol", "AAPL", "--replay", "exchange",
        "--bar-seconds", "120", "--param", "fast=3", "--param", "slow=8", "--json",
    )  # fmt: skip
    from_command = json.loads(out)
    body = {
        "strategy": "ma_crossover",
        "symbol": "aapl",
        "params": {"fast": 3, "slow": 8},
        "data": "exchange",
        "bar_seconds": 120,
        "start": "2026-01-05",
        "end": "2026-01-05",
    }
    created = alice_client.post("/api/backtests/", body, format="json")
    assert created.status_code == 201, created.content
    payload = created.json()
    assert payload["config"]["data"] == "exchange"
    assert payload["config"]["replay"]["bar_seconds"] == 120.0
    assert payload["config"]["replay"]["executions"] == 400
    assert payload["config"]["bars"] == len(hand_bars(executions, 120))
    assert payload["metrics"] == from_command["metrics"]
    detail = alice_client.get(f"/api/backtests/{payload['id']}/").json()
    assert detail["trades"] == from_command["trades"]


def test_api_refusals_name_the_field(record, alice_client, media):
    record(random_walk(50))
    base = {"strategy": "ma_crossover", "symbol": "AAPL", "data": "exchange"}
    cases = [
        ({"start": "2025-01-01", "end": "2025-01-31"}, "data", "no trades of AAPL"),
        ({"symbol": "NOPE"}, "symbol", "unknown symbol 'NOPE'"),
        ({"bar_seconds": 0}, "bar_seconds", "greater than or equal"),
        ({"data": "sample", "bar_seconds": 60}, "bar_seconds", 'applies to "data": "exchange"'),
    ]
    for extra, field, message in cases:
        response = alice_client.post("/api/backtests/", {**base, **extra}, format="json")
        assert response.status_code == 400, response.content
        errors = response.json()[field]
        assert message in errors[0], errors
    no_trades = alice_client.post(
        "/api/backtests/", {**base, "start": "2025-01-01", "end": "2025-01-31"}, format="json"
    ).json()["data"][0]
    assert "start 2025-01-01T00:00:00+00:00" in no_trades and "start/end" in no_trades
    assert not BacktestRun.objects.exists()


def test_a_short_replay_of_second_bars_reports_cagr_as_undefined(record, media):
    # 12 five-second bars annualised at 252 x 390 x 12 bars a year: growth ** (1 / years)
    # overflows a float; the metric is null (undefined), not an OverflowError
    record([(at(5 * k), f"{190 + 2 * k}.00", 10) for k in range(12)])
    out, _ = run(
        "backtest", "ma_crossover", "--symbol", "AAPL", "--replay", "exchange",
        "--bar-seconds", "5", "--param", "fast=2", "--param", "slow=4", "--json",
    )  # fmt: skip
    metrics = json.loads(out)["metrics"]
    assert metrics["cagr_pct"] is None and metrics["total_return_pct"] > 0
