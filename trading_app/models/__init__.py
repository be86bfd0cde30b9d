from trading_app.models.accounts import Account, Position
from trading_app.models.enums import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradeSource,
)
from trading_app.models.instruments import Instrument
from trading_app.models.orders import Order, Trade
from trading_app.models.platform import BacktestRun, ExchangeStatus, RiskLimits, TradeAnalysis
from trading_app.models.risk import EquitySnapshot, RiskChange
from trading_app.models.strategies import StrategyRun

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "Account",
    "BacktestRun",
    "EquitySnapshot",
    "ExchangeStatus",
    "Instrument",
    "Liquidity",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "RiskChange",
    "RiskLimits",
    "Side",
    "StrategyRun",
    "TimeInForce",
    "Trade",
    "TradeAnalysis",
    "TradeSource",
]
