"""Strategy framework, classic strategies and a backtester, as plain Python (no Django).

Public surface::

    from algo_trading import run_backtest, registry, Strategy, Param
    result = run_backtest("ma_crossover", bars, {"fast": 10, "slow": 30})

See docs/strategies.md for writing strategies, the fill rules and the metric definitions.
"""

from . import registry
from .broker import Broker, OrderError
from .data import DataError, load_csv, validate_bars
from .models import BUY, SELL, Bar, Fill, Order, Tick
from .params import Param, ParameterError
from .result import BacktestResult
from .runner import run_backtest
from .strategy import Strategy
from .sweep import run_sweep
from .synthetic import generate_bars

__all__ = [
    "BUY",
    "SELL",
    "BacktestResult",
    "Bar",
    "Broker",
    "DataError",
    "Fill",
    "Order",
    "OrderError",
    "Param",
    "ParameterError",
    "Strategy",
    "Tick",
    "generate_bars",
    "load_csv",
    "registry",
    "run_backtest",
    "run_sweep",
    "validate_bars",
]
