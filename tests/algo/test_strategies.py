"""Each strategy on constructed series where the right trades are known by hand."""

import numpy as np
import pandas as pd
import pytest

from algo_trading import registry, run_backtest

from .helpers import make_bars, random_walk

FIXED = {"model": "fixed", "quantity": 10}


def run(name, bars, params, engine="event", **kw):
    kw.setdefault("sizing", FIXED)
    return run_backtest(name, bars, params, engine=engine, **kw)


def trades(result):
    return [
        (t.side, t.entry_bar, t.exit_bar, t.entry_price, t.exit_price, t.size)
        for t in result.trades
    ]


# ----- ma_crossover -----------------------------------------------------------------------
# 40 flat bars at 100, then +1 a bar to 130 (bars 40..69), then -1 a bar.
RISE_FALL = [100.0] * 40 + [101.0 + k for k in range(30)] + [129.0 - k for k in range(40)]


@pytest.mark.parametrize("engine", ["event", "vectorised"])
def test_ma_crossover_one_round_trip(engine):
    # fast=3, slow=5. Flat: the averages are equal, not fast > slow, so flat.
    # Bar 40: SMA3 = 100.33 > SMA5 = 100.2 -> long, filled at bar 41's open (102).
    # Bar 71: SMA3 = 129 > SMA5 = 128.8 still long; bar 72: SMA3 = 128 < SMA5 = 128.6 -> exit,
    # filled at bar 73's open (126).
    r = run("ma_crossover", make_bars(RISE_FALL), {"fast": 3, "slow": 5}, engine)
    assert trades(r) == [("long", 41, 73, 102.0, 126.0, 10)]
    assert r.trades[0].pnl == 240.0
    assert r.open_position is None
    assert r.metrics["num_trades"] == 1 and r.metrics["win_rate_pct"] == 100.0


@pytest.mark.parametrize("engine", ["event", "vectorised"])
def test_ma_crossover_allow_short(engine):
    # Short as soon as both averages exist (bar 4: fast == slow is "not above"), filled bar 5;
    # flips long at bar 41 and short again at bar 73, which is still open at the end.
    r = run(
        "ma_crossover", make_bars(RISE_FALL), {"fast": 3, "slow": 5, "allow_short": True}, engine
    )
    assert trades(r) == [("short", 5, 41, 100.0, 102.0, 10), ("long", 41, 73, 102.0, 126.0, 10)]
    assert r.open_position["side"] == "short" and r.open_position["entry_price"] == 126.0
    assert r.position.iloc[-1] == -10


@pytest.mark.parametrize("engine", ["event", "vectorised"])
def test_ma_crossover_ema_matches_pandas_oracle(engine):
    closes = pd.Series(RISE_FALL)
    fast = closes.ewm(span=3, adjust=False).mean()
    slow = closes.ewm(span=5, adjust=False).mean()
    above = (fast > slow + 1e-9).to_numpy()
    entry = int(np.argmax(above))
    exit_ = entry + int(np.argmax(~above[entry:]))
    r = run("ma_crossover", make_bars(RISE_FALL), {"fast": 3, "slow": 5, "kind": "ema"}, engine)
    assert entry == 40
    assert trades(r) == [
        ("long", entry + 1, exit_ + 1, RISE_FALL[entry + 1], RISE_FALL[exit_ + 1], 10)
    ]


# ----- mean_reversion ---------------------------------------------------------------------
def alternating(n):
    return [100.0 if k % 2 == 0 else 101.0 for k in range(n)]


def test_mean_reversion_take_profit():
    # 30 bars alternating 100/101 (z = +-1: nothing). Bar 30 drops to 98: over bars 11..30
    # mean 100.4, std 0.735, z = -3.27 -> buy, filled at bar 31's open 98.5. Bar 32 closes at
    # 99.6, +1.12% >= take_profit 1% -> exit, filled at bar 33's open 100.
    closes = alternating(30) + [98.0, 98.5, 99.6, 100.0, 101.0]
    r = run("mean_reversion", make_bars(closes), {})
    assert trades(r) == [("long", 31, 33, 98.5, 100.0, 10)]


def test_mean_reversion_stop_loss():
    # Same entry; bar 32 closes 96.4, -2.13% <= -stop_loss 2% -> exit at bar 33's open.
    closes = alternating(30) + [98.0, 98.5, 96.4, 96.0, 96.0]
    r = run("mean_reversion", make_bars(closes), {"entry_z": 2.0})
    assert trades(r) == [("long", 31, 33, 98.5, 96.0, 10)]


def test_mean_reversion_exit_on_z():
    closes = alternating(30) + [98.0, 98.5, 99.0, 99.5, 100.0, 100.5, 101.0, 101.0]
    params = {"stop_loss": 0.0, "take_profit": 0.0, "exit_z": 0.5}
    r = run("mean_reversion", make_bars(closes), params)
    z = {
        t: (closes[t] - np.mean(closes[t - 19 : t + 1])) / np.std(closes[t - 19 : t + 1])
        for t in range(19, len(closes))
    }
    exit_decision = next(t for t in range(32, len(closes)) if z[t] >= -0.5)
    assert trades(r) == [("long", 31, exit_decision + 1, 98.5, closes[exit_decision + 1], 10)]


def test_mean_reversion_short_only_when_allowed():
    closes = alternating(30) + [103.0, 102.5, 100.5, 100.0, 101.0]
    assert run("mean_reversion", make_bars(closes), {}).trades == []
    r = run("mean_reversion", make_bars(closes), {"allow_short": True})
    assert trades(r)[0][:3] == ("short", 31, 33)


# ----- momentum_breakout ------------------------------------------------------------------
def breakout_bars(rise, fall, breakout_volume=5000.0):
    """20 flat bars (high 101, low 99), a breakout bar 20 to 103, then ``rise`` and ``fall``."""
    closes = [100.0] * 20 + [103.0] + rise + fall
    highs = [101.0] * 20 + [103.5] + [c + 0.5 for c in rise + fall]
    lows = [99.0] * 20 + [100.0] + [c - 0.5 for c in rise + fall]
    vols = [1000.0] * 20 + [breakout_volume] + [1000.0] * len(rise + fall)
    return make_bars(closes, opens=closes, highs=highs, lows=lows, volumes=vols)


def test_breakout_trailing_stop():
    # Bar 20 closes 103 > 101 on 5x volume -> buy at bar 21's open (104). Best close 110
    # (bar 25); bar 26 closes 104 <= 110 * 0.95 -> exit at bar 27's open.
    bars = breakout_bars([104.0, 106.0, 108.0, 109.0, 110.0], [104.0, 103.0, 103.0])
    r = run(
        "momentum_breakout", bars, {"lookback": 10, "volume_factor": 1.5, "trailing_stop": 0.05}
    )
    assert trades(r) == [("long", 21, 27, 104.0, 103.0, 10)]


def test_breakout_channel_exit():
    # No trailing stop: bar 28 closes 107 < min(low of bars 23..27) = 107.5 -> exit at bar 29.
    bars = breakout_bars([104.0, 106.0, 108.0, 109.0, 110.0], [109.0, 108.0, 107.0, 106.0, 105.0])
    r = run("momentum_breakout", bars, {"lookback": 10, "trailing_stop": 0.0})
    assert trades(r) == [("long", 21, 29, 104.0, 106.0, 10)]


def test_breakout_needs_volume():
    bars = breakout_bars([104.0, 106.0], [100.0], breakout_volume=1200.0)
    assert run("momentum_breakout", bars, {"lookback": 10}).trades == []


# ----- ml_classifier ----------------------------------------------------------------------
def zigzag(n, seed=0):
    """Up 1%, down 1%, ... with small noise: the next direction is the opposite of the last."""
    rng = np.random.default_rng(seed)
    steps = np.where(np.arange(n) % 2 == 0, 0.01, -0.0095) + rng.normal(0, 0.0005, n)
    closes = np.round(100 * np.exp(np.cumsum(steps)), 4)
    # Each bar opens at the previous close: a signal on bar t's close fills at close[t] and
    # earns bar t+1's move. (With open == close the fill would come after the move: the
    # engine is honest about that, and this strategy would lose every trade.)
    opens = np.concatenate(([100.0], closes[:-1]))
    return make_bars(closes, opens=opens, volumes=rng.lognormal(8, 0.2, n))


@pytest.mark.parametrize("model", ["gbm", "mlp"])
def test_ml_classifier_learns_a_predictable_pattern(model):
    params = {"model": model, "lags": 2, "train_window": 60, "retrain_every": 25, "min_train": 60}
    r = run("ml_classifier", zigzag(220), params)
    assert r.metrics["num_trades"] > 30
    assert r.metrics["win_rate_pct"] > 90
    # Walk-forward: at bar t (0-based) rows t-lags+.. exist and t - lags of them are labelled,
    # so the first fit is at bar lags + min_train = 62, then every 25 bars.
    strategy = registry.create("ml_classifier", params)
    run_backtest(strategy, zigzag(220), engine="event", sizing=FIXED)
    assert strategy.fits == 1 + (220 - 63) // 25


def test_ml_classifier_is_deterministic():
    bars = random_walk(260, seed=5)
    params = {"model": "mlp", "train_window": 80, "retrain_every": 30}
    a = run("ml_classifier", bars, params)
    b = run("ml_classifier", bars, params)
    assert trades(a) == trades(b) and a.metrics == {**b.metrics}


# ----- no look-ahead, for every strategy -----------------------------------------------
LOOKAHEAD_CASES = [
    ("ma_crossover", {"fast": 5, "slow": 20}),
    ("ma_crossover", {"fast": 5, "slow": 20, "kind": "ema", "allow_short": True}),
    ("mean_reversion", {"entry_z": 1.5, "allow_short": True}),
    ("momentum_breakout", {"lookback": 10, "volume_factor": 1.0, "allow_short": True}),
    ("ml_classifier", {"train_window": 60, "retrain_every": 15, "min_train": 40, "threshold": 0.5}),
]


@pytest.mark.parametrize(("name", "params"), LOOKAHEAD_CASES)
def test_changing_the_future_never_changes_the_past(name, params):
    bars = random_walk(300, seed=11)
    k = 180
    future = bars.copy()
    rng = np.random.default_rng(99)
    shock = np.exp(np.cumsum(rng.normal(0.0, 0.03, len(bars) - k - 1)))
    for col in ("Open", "High", "Low", "Close"):
        future.iloc[k + 1 :, future.columns.get_loc(col)] *= shock
    future.iloc[k + 1 :, future.columns.get_loc("Volume")] *= 3
    a = run(name, bars, params, sizing=None)
    b = run(name, future, params, sizing=None)
    assert a.trades, "the case should trade before the cut"
    assert np.array_equal(a.equity_values[: k + 1], b.equity_values[: k + 1])
    assert np.array_equal(a.position_values[: k + 1], b.position_values[: k + 1])
    assert [t for t in trades(a) if t[2] <= k] == [t for t in trades(b) if t[2] <= k]
