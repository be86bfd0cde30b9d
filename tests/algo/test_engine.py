"""Event-driven engine: fill rules, no look-ahead, hooks order, orders API, accounting."""

import numpy as np
import pytest

from algo_trading import Strategy, run_backtest
from algo_trading.broker import OrderError
from algo_trading.fills import fill_price
from algo_trading.models import BUY, SELL

from .helpers import make_bars, random_walk


class Script(Strategy):
    """Runs a per-bar script: {bar_index: callable(strategy)}; records what it saw."""

    name = "script"

    def __init__(self, script=None, **kw):
        super().__init__(**kw)
        self.script = script or {}
        self.seen = []
        self.fills = []
        self.events = []

    def on_start(self):
        self.i = -1
        self.events.append("start")

    def on_bar(self, bar):
        self.i += 1
        self.events.append(("bar", self.i))
        self.seen.append((bar.close, len(self.history), float(self.history.close[-1])))
        action = self.script.get(self.i)
        if action:
            action(self)

    def on_fill(self, fill):
        self.events.append(("fill", self.i + 1))
        self.fills.append(fill)

    def on_stop(self):
        self.events.append("stop")


def run(strategy, bars, **kw):
    kw.setdefault("sizing", {"model": "fixed", "quantity": 10})
    return run_backtest(strategy, bars, engine="event", **kw)


@pytest.mark.parametrize(
    ("side", "limit", "o", "h", "lo", "expected"),
    [
        (BUY, None, 10.0, 11.0, 9.0, 10.0),
        (BUY, 9.5, 10.0, 11.0, 9.0, 9.5),  # trades down through the limit
        (BUY, 10.5, 10.0, 11.0, 9.0, 10.0),  # opens below the limit: the better open
        (BUY, 8.5, 10.0, 11.0, 9.0, None),  # never reaches it
        (SELL, 10.5, 10.0, 11.0, 9.0, 10.5),
        (SELL, 9.5, 10.0, 11.0, 9.0, 10.0),  # opens above the limit: the better open
        (SELL, 11.5, 10.0, 11.0, 9.0, None),
        (BUY, 9.0, 10.0, 11.0, 9.0, 9.0),  # touching is enough
    ],
)
def test_fill_rules(side, limit, o, h, lo, expected):
    assert fill_price(side, limit, o, h, lo) == expected


def test_market_order_fills_at_next_open_never_same_bar():
    closes = [10, 11, 12, 13, 14]
    opens = [9.5, 10.5, 11.5, 12.5, 13.5]
    s = Script({1: lambda st: st.buy(10)})
    r = run(s, make_bars(closes, opens))
    assert len(s.fills) == 1
    fill = s.fills[0]
    assert fill.price == 11.5  # bar 2's open, not bar 1's close
    assert s.events.index(("fill", 2)) < s.events.index(("bar", 2))
    assert r.open_position["entry_price"] == 11.5
    assert r.position.tolist() == [0, 0, 10, 10, 10]


def test_limit_buy_rests_until_low_reaches_it():
    closes = [10, 10, 10, 10, 10, 10]
    lows = [9.8, 9.8, 9.7, 9.4, 9.0, 9.0]
    s = Script({0: lambda st: st.buy(5, limit=9.5)})
    run(s, make_bars(closes, lows=lows, highs=[10.2] * 6))
    assert [(f.price, f.qty) for f in s.fills] == [(9.5, 5)]
    assert s.events.index(("fill", 3)) < s.events.index(("bar", 3))


def test_limit_buy_gap_fills_at_open():
    s = Script({0: lambda st: st.buy(5, limit=9.5)})
    run(s, make_bars([10, 9.0, 9.0], opens=[10, 9.2, 9.0], highs=[10, 9.3, 9], lows=[10, 8.9, 9]))
    assert s.fills[0].price == 9.2


def test_history_never_contains_the_future():
    bars = random_walk(200, seed=1)
    s = Script()
    run(s, bars)
    closes = bars["Close"].to_numpy()
    for t, (close, length, hist_last) in enumerate(s.seen):
        assert close == closes[t] == hist_last
        assert length == min(t + 1, s.history_size)


def test_history_views_are_read_only():
    def poke(st):
        st.history.close[-1] = 0.0

    with pytest.raises(ValueError):
        run(Script({3: poke}), random_walk(10, seed=2))


def test_cancel_and_close():
    def place(st):
        st.resting = st.buy(5, limit=1.0)  # never fills
        st.buy(3)

    def flatten(st):
        assert st.position == 3
        st.close()

    s = Script({0: place, 2: flatten})
    r = run(s, make_bars([10, 11, 12, 13, 14]))
    assert s.resting.status == "canceled"
    assert r.position.tolist() == [0, 3, 3, 0, 0]
    assert len(r.trades) == 1
    t = r.trades[0]
    assert (t.entry_price, t.exit_price, t.size, t.pnl) == (11.0, 13.0, 3, 6.0)


def test_invalid_orders_raise():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(OrderError):
            run(Script({0: lambda st, q=bad: st.buy(q)}), make_bars([1, 2, 3]))
    with pytest.raises(OrderError):
        run(Script({0: lambda st: st.sell(1, limit=-3)}), make_bars([1, 2, 3]))


def test_order_on_last_bar_stays_open():
    r = run(Script({2: lambda st: st.buy(1)}), make_bars([1, 2, 3]))
    assert r.open_orders == 1 and r.trades == [] and r.position.tolist() == [0, 0, 0]


def test_commission_and_slippage_are_charged():
    s = Script({0: lambda st: st.buy(100), 2: lambda st: st.sell(100)})
    r = run(
        s,
        make_bars([10, 10, 10, 10], highs=[10.5] * 4, lows=[9.5] * 4),
        commission={"model": "per_share", "rate": 0.01, "minimum": 2.0},
        slippage={"model": "range", "fraction": 0.1},
    )
    buy, sell = s.fills
    assert buy.price == pytest.approx(10.1) and sell.price == pytest.approx(9.9)
    assert buy.commission == 2.0  # 100 * 0.01 = 1 < minimum
    t = r.trades[0]
    assert t.pnl == pytest.approx(100 * (9.9 - 10.1) - 4.0)
    assert r.metrics["total_commission"] == 4.0
    assert r.equity.iloc[-1] == pytest.approx(100_000 + t.pnl)


def test_percent_commission_and_bps_slippage():
    s = Script({0: lambda st: st.buy(10), 1: lambda st: st.sell(10)})
    r = run(
        s,
        make_bars([100, 100, 100]),
        commission={"model": "percent", "rate_pct": 0.1, "minimum": 0.5},
        slippage={"model": "bps", "bps": 10},
    )
    buy, sell = s.fills
    assert buy.price == pytest.approx(100.1) and sell.price == pytest.approx(99.9)
    assert buy.commission == pytest.approx(1.001)
    assert r.trades[0].pnl == pytest.approx(-2.0 - 1.001 - 0.999)


def test_limit_orders_are_not_slipped():
    s = Script({0: lambda st: st.buy(10, limit=99.0)})
    run(
        s,
        make_bars([100, 98], opens=[100, 100], lows=[100, 97], highs=[100, 100]),
        slippage={"model": "bps", "bps": 50},
    )
    assert s.fills[0].price == 99.0


def test_flip_splits_into_two_trades():
    s = Script({0: lambda st: st.buy(10), 2: lambda st: st.sell(30), 4: lambda st: st.buy(20)})
    r = run(
        s,
        make_bars([10, 11, 12, 13, 14, 15, 16]),
        commission={"model": "per_share", "rate": 0.1, "minimum": 0},
    )
    long_, short = r.trades
    assert (long_.side, long_.entry_price, long_.exit_price, long_.size) == ("long", 11, 13, 10)
    assert long_.pnl == pytest.approx(20 - 1.0 - 1.0)  # entry 10*0.1, exit share of 30*0.1
    assert (short.side, short.entry_price, short.exit_price, short.size) == ("short", 13, 15, 20)
    assert short.pnl == pytest.approx(-40 - 2.0 - 2.0)
    assert r.equity.iloc[-1] == pytest.approx(100_000 + long_.pnl + short.pnl)


def test_scaling_in_and_partial_exit():
    s = Script(
        {
            0: lambda st: st.buy(10),
            1: lambda st: st.buy(10),
            2: lambda st: st.sell(5),
            3: lambda st: st.sell(15),
        }
    )
    r = run(s, make_bars([10, 10, 12, 14, 16, 16]))
    (t,) = r.trades
    # entries 10@10, 10@12 -> avg cost 11; exits 5@14, 15@16
    assert t.size == 20 and t.entry_price == 11 and t.exit_price == pytest.approx(15.5)
    assert t.pnl == pytest.approx(5 * 3 + 15 * 5)
    assert t.return_pct == pytest.approx(90 / 220 * 100)


def test_sizing_models():
    bars = make_bars([100.0] * 30)
    buy = {0: lambda st: st.buy()}
    r = run(Script(buy), bars, sizing={"model": "fraction", "fraction": 0.5}, cash=10_000)
    assert r.position.iloc[-1] == 50
    r = run(Script(buy), bars, sizing={"model": "fixed", "quantity": 7})
    assert r.position.iloc[-1] == 7
    # volatility target: 1% daily moves ~ 15.9% annualised; target 8% -> ~half the equity
    closes = 100 * np.cumprod(np.where(np.arange(60) % 2, 1.01, 1 / 1.01))
    r = run(
        Script({40: lambda st: st.buy()}),
        make_bars(closes),
        sizing={"model": "volatility", "target_pct": 8, "lookback": 20, "max_leverage": 2},
        cash=100_000,
    )
    rets = np.diff(np.log(closes[20:41]))
    vol = np.std(rets, ddof=1) * np.sqrt(252)
    assert r.position.iloc[-1] == int(100_000 * (0.08 / vol) / closes[40])


def test_now_and_state_inside_hooks():
    bars = make_bars([10, 11, 12, 13], opens=[10, 10.5, 11.5, 12.5])
    seen = {}

    class Probe(Strategy):
        name = "probe"

        def on_start(self):
            self.k = -1

        def on_bar(self, bar):
            self.k += 1
            assert self.now == bar.time
            if self.k == 0:
                self.buy(4)

        def on_fill(self, fill):
            # at bar 1's open: history still ends at bar 0, equity marks at bar 0's close
            seen.update(
                now=self.now,
                hist=len(self.history),
                pos=self.position,
                cash=self.cash,
                equity=self.equity,
            )

    run_backtest(Probe(), bars, engine="event")
    assert seen["now"] == bars.index[1].tz_localize("UTC").to_pydatetime()
    assert seen["hist"] == 1 and seen["pos"] == 4
    assert seen["cash"] == 100_000 - 4 * 10.5
    assert seen["equity"] == seen["cash"] + 4 * 10


def test_unbound_strategy_gives_a_clear_error():
    from algo_trading.strategy import StrategyNotBoundError

    s = Script()
    with pytest.raises(StrategyNotBoundError):
        _ = s.position
    with pytest.raises(StrategyNotBoundError):
        s.buy(1)


def test_sweep_with_spawned_workers():
    from algo_trading.sweep import run_sweep

    res = run_sweep(
        "ma_crossover",
        random_walk(300, seed=4),
        {"fast": [3, 5]},
        workers=2,
        progress=None,
        start_method="spawn",
    )
    assert len(res.rows) == 2 and not res.errors
