"""The simulator's agents and pacing, without an exchange (their order messages are inspected)."""

from __future__ import annotations

import random
from decimal import Decimal

from algo_trading.live.orders import InstrumentSpec, OrderClient
from algo_trading.simulator import (
    Fundamental,
    MarketMaker,
    MarketSimulator,
    MarketView,
    MomentumTrader,
    NoiseTrader,
    SimulatorConfig,
)

from .helpers import fill, report

AAPL = InstrumentSpec("AAPL", Decimal("0.01"), 1, Decimal("190.00"))
MSFT = InstrumentSpec("MSFT", Decimal("0.01"), 1, Decimal("420.00"))


def setup(agent_cls, **params):
    sent: list[tuple[str, dict]] = []
    client = OrderClient(3, {"AAPL": AAPL}, lambda ch, m: sent.append((ch, m)), origin="simulator")
    view = MarketView(AAPL)
    fundamental = Fundamental(190.0, random.Random(1))
    agent = agent_cls("sim_x1", client, view, fundamental, random.Random(2), **params)
    return agent, client, view, fundamental, sent


def submits(sent):
    return [p for _, m in sent if m["type"] == "orders.submit" for p in m["orders"]]


def test_market_maker_quotes_both_sides_around_the_fundamental():
    mm, client, view, fundamental, sent = setup(MarketMaker, levels=2, size=100, spread_bps=10)
    mm.act(0.0)
    orders = submits(sent)
    assert len(orders) == 4 and {p["origin"] for p in orders} == {"simulator"}
    bids = sorted(Decimal(p["limit_price"]) for p in orders if p["side"] == "buy")
    asks = sorted(Decimal(p["limit_price"]) for p in orders if p["side"] == "sell")
    assert bids[-1] < Decimal("190") < asks[0]
    assert asks[0] - bids[-1] <= Decimal("0.30")
    assert all(p["time_in_force"] == "gtc" and p["qty"] == 100 for p in orders)
    for order in client.open_orders():
        client.apply(report(order, "new"))
    # quotes that are still right are left alone; a move re-prices them with replace
    sent.clear()
    mm.act(1.0)
    assert sent == []
    fundamental.observe_feed(191.0, 2.0)
    mm.act(2.0)
    assert [m["type"] for _, m in sent] == ["order.replace"] * 4
    # bounded: never more than levels x 2 resting orders
    assert len(client.open_orders()) == 4


def test_market_maker_leans_against_inventory_and_pulls_a_side_at_the_cap():
    mm, client, view, fundamental, sent = setup(MarketMaker, levels=1, max_inventory=100)
    neutral = mm.targets()
    client.ledger("AAPL").apply(50, Decimal("190"))
    long = mm.targets()
    assert long[("buy", 0)] < neutral[("buy", 0)] and long[("sell", 0)] < neutral[("sell", 0)]
    client.ledger("AAPL").apply(50, Decimal("190"))
    capped = mm.targets()
    assert capped[("buy", 0)] is None and capped[("sell", 0)] is not None


def test_prices_stay_inside_the_band_around_the_exchanges_reference():
    mm, client, view, fundamental, sent = setup(MarketMaker, levels=1, band_pct=4.0)
    fundamental.observe_feed(250.0, 0.0)  # the feed jumped far from the last trade
    view.apply({"trades": [{"price": "190.00", "qty": 1}], "quote": {}}, 0.0)
    targets = mm.targets()
    assert all(Decimal("182.40") <= p <= Decimal("197.60") for p in targets.values())


def test_replace_rejection_withdraws_the_quote():
    mm, client, view, fundamental, sent = setup(MarketMaker, levels=1)
    mm.act(0.0)
    order = client.open_orders()[0]
    client.apply(report(order, "new"))
    event = client.apply({"event": "error", "code": "replace_rejected", "id": order.id})
    mm.on_event(event)
    assert sent[-1][1] == {"type": "order.cancel", "id": order.id, "account_id": 3}


def test_noise_trader_keeps_few_resting_orders_and_cancels_old_ones():
    noise, client, view, fundamental, sent = setup(
        NoiseTrader, activity=1.0, market_share=0.0, max_resting=3, max_age=10
    )
    for t in range(8):
        noise.act(float(t))
        for order in client.open_orders():
            client.apply(report(order, "canceled" if order.cancel_sent else "new"))
        # at most max_resting survive each tidy-up, plus the one placed after it
        assert len(noise.resting()) <= 4
    early = [o for o in client.open_orders() if noise.placed.get(o.id, 99) < 5]
    noise.act(100.0)  # everything is older than max_age now
    assert early and all(o.cancel_sent for o in early)


def test_noise_trader_sells_when_long_beyond_its_cap():
    noise, client, view, fundamental, sent = setup(NoiseTrader, activity=1.0, max_inventory=10)
    client.ledger("AAPL").apply(20, Decimal("190"))
    for t in range(10):
        noise.act(float(t))
    assert {p["side"] for p in submits(sent)} == {"sell"}


def test_momentum_trader_buys_a_rise_and_sells_a_fall():
    mom, client, view, fundamental, sent = setup(
        MomentumTrader, activity=1.0, threshold_bps=10, cooldown=0, qty=50
    )
    for t, price in enumerate(["190.00", "190.10", "190.40"]):
        view.apply({"trades": [{"price": price, "qty": 1}], "quote": {}}, float(t))
    mom.act(3.0)
    (order,) = submits(sent)
    assert order["side"] == "buy" and order["type"] == "market" and order["qty"] == 50
    client.apply(fill(client.open_orders()[0], 50, "190.40", 1))
    view.apply({"trades": [{"price": "189.50", "qty": 1}], "quote": {}}, 4.0)
    mom.act(4.0)
    assert submits(sent)[-1]["side"] == "sell"


def test_fundamental_follows_the_feed_then_walks_on_its_own():
    f = Fundamental(100.0, random.Random(5), volatility=2.0, stale_after=5)
    f.observe_feed(101.0, 0.0)
    assert f.step(1.0) == 101.0  # a live feed is the truth
    walked = [f.step(float(t)) for t in range(10, 40)]
    assert len(set(walked)) > 1 and all(80 < v < 125 for v in walked)


def test_simulator_routes_messages_and_is_seeded():
    def first_round(seed):
        sent: list[tuple[str, dict]] = []
        specs = {"AAPL": AAPL, "MSFT": MSFT}
        config = SimulatorConfig(seed=seed, market_makers=1, noise_traders=1, momentum_traders=1)
        clients = {
            name: OrderClient(k, specs, lambda ch, m: sent.append((ch, m)), prefix=f"{name}-")
            for k, (name, _) in enumerate(config.accounts(), 1)
        }
        sim = MarketSimulator(config, specs, clients, clock=lambda: 0.0)
        assert set(sim.groups) == {"account.1", "account.2", "account.3", "market.AAPL",
                                   "prices.AAPL", "market.MSFT", "prices.MSFT"}  # fmt: skip
        sim.round(0.0)
        return sim, [(p["symbol"], p["side"], p["qty"], p["limit_price"]) for p in submits(sent)]

    sim, orders = first_round(7)
    assert orders == first_round(7)[1]
    assert {o[0] for o in orders} == {"AAPL", "MSFT"}
    mm = sim.clients["sim_mm1"]
    quote = mm.open_orders("AAPL")[0]
    sim.handle({"type": "trade.updates", "updates": [fill(quote, quote.qty, "189.90", 1)]})
    assert mm.ledger("AAPL").qty == (quote.qty if quote.side == "buy" else -quote.qty)
    sim.handle({"type": "market.update", "symbol": "AAPL",
                "trades": [{"price": "189.90", "qty": 5}], "quote": {"bid": "189.80", "ask": "190.00"}})  # fmt: skip
    assert sim.views["AAPL"].last == Decimal("189.90") and sim.views["AAPL"].bid == Decimal(
        "189.80"
    )
    sim.handle({"type": "price.tick", "symbol": "MSFT", "price": "425.5", "source": "simulated"})
    assert sim.fundamentals["MSFT"].value == 425.5
    sim.handle({"type": "price.tick", "symbol": "MSFT", "price": "1", "source": "exchange"})
    assert sim.fundamentals["MSFT"].value == 425.5
    sim.withdraw_all()
    assert all(o.cancel_sent for c in sim.clients.values() for o in c.open_orders())
    assert "sim:" in sim.status_line()


def test_config_names_the_accounts_and_refuses_nonsense():
    import pytest

    config = SimulatorConfig(market_makers=2, noise_traders=1, momentum_traders=1)
    assert [a for a, _ in config.accounts()] == ["sim_mm1", "sim_mm2", "sim_noise1", "sim_mom1"]
    with pytest.raises(ValueError, match="rate"):
        SimulatorConfig(rate=0)
    with pytest.raises(ValueError, match="no agents"):
        SimulatorConfig(market_makers=0, noise_traders=0, momentum_traders=0)
