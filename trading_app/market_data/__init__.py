"""Market data: one provider interface, several sources, a failover feed and its publisher.

Providers (`simulated`, `yfinance`, `exchange`) turn a list of symbols into `Tick`s; `FailoverFeed`
picks the first healthy one; `TickPublisher` validates ticks and fans them out to the channel
layer group `prices.<SYMBOL>` and the cache `POST /api/market-data/` reads. yfinance (and pandas)
are imported only when the yfinance provider is used, so the offline default stays light.
"""

from trading_app.market_data.base import MarketDataProvider
from trading_app.market_data.ticks import Bar, ProviderError, Tick

__all__ = ["Bar", "MarketDataProvider", "ProviderError", "Tick"]
