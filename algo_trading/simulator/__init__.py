"""The market simulator: agents that trade tradingSim's instruments through the real order path.

Market makers quote two-sided around a fundamental price (the simulated feed's, or a seeded
GBM of its own when no feed runs), noise traders send random market and limit orders,
momentum traders chase recent moves. Each agent kind trades under its own account
(``sim_mm1``, ``sim_noise1``, ``sim_mom1``...) with the same ``OrderClient`` a live strategy
uses, so every order meets the risk checks and the matching engine like anyone else's.

| module | job |
| --- | --- |
| ``fundamental.py`` | the price agents believe in: feed-following, GBM when the feed is quiet |
| ``view.py`` | what agents see of one symbol's market (last trade, touch, recent trades) |
| ``agents.py`` | ``MarketMaker``, ``NoiseTrader``, ``MomentumTrader`` |
| ``market.py`` | ``MarketSimulator``: routes messages, paces decision rounds, cleans up |
| ``service.py`` | Django side: accounts, the channel layer, ``run_simulator_service`` |
"""

from .agents import MarketMaker, MomentumTrader, NoiseTrader
from .fundamental import Fundamental
from .market import MarketSimulator, SimulatorConfig
from .view import MarketView

__all__ = [
    "Fundamental",
    "MarketMaker",
    "MarketSimulator",
    "MarketView",
    "MomentumTrader",
    "NoiseTrader",
    "SimulatorConfig",
]
