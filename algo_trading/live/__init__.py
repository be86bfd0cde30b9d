"""Live trading on tradingSim's own exchange: the pure half (asyncio and Decimal, no Django).

The exchange is reached through the matching worker's channel-layer contract
(docs/architecture.md): ``orders.submit`` / ``order.cancel`` / ``order.replace`` into the
shard's inbox, execution reports from group ``account.<id>``, market data from
``market.<SYMBOL>`` and ``prices.<SYMBOL>``. This package speaks that contract against an
abstract ``Transport``; ``algo_trading.django_adapters`` supplies the channel-layer one.

| module | job |
| --- | --- |
| ``orders.py`` | ``OrderClient``: one account's orders as messages, their state from reports |
| ``ledger.py`` | ``Ledger``: cash, position and P&L from fills, in Decimal |
| ``bars.py`` | ``BarBuilder``: time bars from trades and ticks |
| ``broker.py`` | ``LiveBroker``: the strategy ``Broker`` over an ``OrderClient`` |
| ``session.py`` | ``LiveSession``: messages and the clock in, strategy hooks out |
| ``transport.py`` | the ``Transport`` protocol, an in-memory one for tests, ``run_session`` |
"""

from .bars import BarBuilder
from .broker import LiveBroker, StrategyOrder
from .ledger import Ledger
from .orders import InstrumentSpec, OrderClient, TrackedOrder
from .session import LiveSession, SessionStats
from .transport import Transport, run_session

__all__ = [
    "BarBuilder",
    "InstrumentSpec",
    "Ledger",
    "LiveBroker",
    "LiveSession",
    "OrderClient",
    "SessionStats",
    "StrategyOrder",
    "TrackedOrder",
    "Transport",
    "run_session",
]
