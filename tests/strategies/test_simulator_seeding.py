"""Where the market simulator's fundamental starts and how it follows the feed across a failover.

After a restart the agents must quote around the exchange's last trade, not the instrument's
opening reference price; and when the feed fails over from the exchange's own prices to the
simulation, the fundamental must carry on from the exchange's level instead of jumping to
wherever the simulation was seeded.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from algo_trading.live.orders import InstrumentSpec
from algo_trading.simulator import MarketSimulator, SimulatorConfig
from trading_app.market_data import MarketDataProvider, Tick
from trading_app.market_data.failover import FailoverFeed
from trading_app.market_data.publisher import TickPublisher
from trading_app.market_data.service import run_feed
from trading_app.market_data.simulated import SeedInstrument, SimulatedFeed

D = Decimal


@pytest.mark.django_db
def test_a_restarted_simulator_quotes_around_the_exchanges_last_trade(instruments):
    from algo_trading.simulator.service import _setup, build_simulator
    from trading_app.models import Instrument

    Instrument.objects.filter(symbol="AAPL").update(last_price=D("250.00"))
    config = SimulatorConfig(market_makers=1, noise_traders=0, momentum_traders=0)
    specs, accounts, _startup, shards = _setup(config, ["AAPL", "MSFT"])
    sent: list[tuple[str, dict]] = []
    simulator = build_simulator(config, specs, accounts, lambda ch, m: sent.append((ch, m)), 1)
    assert simulator.fundamentals["AAPL"].value == 250.0  # traded: from the last trade
    assert simulator.fundamentals["MSFT"].value == 420.0  # never traded: the reference
    assert simulator.views["AAPL"].reference == D("250.00")
    simulator.round(0.0)
    prices = [
        D(order["limit_price"])
        for _, message in sent
        if message["type"] == "orders.submit"
        for order in message["orders"]
        if order["symbol"] == "AAPL"
    ]
    assert prices and all(abs(p - D("250")) < D("2") for p in prices), prices


class Recorder:
    """A channel layer and cache stand-in that keeps what the feed publishes."""

    def __init__(self):
        self.sent: list[dict] = []

    async def group_send(self, group, message):
        self.sent.append(message)

    async def aset_many(self, mapping, timeout=None):
        pass

    async def aset(self, key, value, timeout=None):
        pass


class ExchangeLike(MarketDataProvider):
    name = "exchange"
    interval = 0.01

    def __init__(self, prices):
        self.prices = list(prices)

    async def fetch(self, symbols):
        if not self.prices:
            return []
        return [Tick("AAPL", D(self.prices.pop(0)), datetime.now(UTC), self.name, volume=1)]


async def test_the_fundamental_stays_at_the_exchanges_level_when_the_feed_fails_over():
    # The feed started (and seeded its simulation) at 190; the exchange then traded up to 250
    # (the fundamental, which ignores the exchange's own prices, was seeded there too). The
    # exchange goes quiet, the simulation takes over: the fundamental must stay near 250.
    spec = InstrumentSpec("AAPL", D("0.01"), 1, D("250.00"))
    simulator = MarketSimulator(SimulatorConfig(), {"AAPL": spec}, {})
    fundamental = simulator.fundamentals["AAPL"]
    simulated = SimulatedFeed(
        {"AAPL": SeedInstrument(D("190.00"))}, seed=3, jumps_per_minute=0.0, rate=100
    )
    exchange = ExchangeLike([f"{249 + 0.25 * i:.2f}" for i in range(5)])  # ... 250.00
    feed = FailoverFeed([exchange, simulated], stale_after=0.2)
    recorder = Recorder()
    publisher = TickPublisher({"AAPL": D("0.01")}, layer=recorder, cache=recorder)
    stop = asyncio.Event()
    task = asyncio.create_task(run_feed(stop, feed, publisher, ["AAPL"]))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while loop.time() < deadline:
        if sum(m.get("source") == "simulated" for m in recorder.sent) >= 5:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)

    ticks = [m for m in recorder.sent if m["type"] == "price.tick"]
    assert sum(m["source"] == "simulated" for m in ticks) >= 5
    values = []
    for now, message in enumerate(ticks):
        simulator.handle(message, now=float(now))
        values.append(fundamental.value)
    assert all(abs(v - 250.0) < 1.0 for v in values), values
