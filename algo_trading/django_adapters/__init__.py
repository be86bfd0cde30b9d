"""The Django-aware half of algo_trading: database records, the channel layer, yfinance.

``algo_trading`` itself stays importable without Django; everything that needs settings, the
ORM or ``channels`` lives here and is imported only by the management commands, the API views
and the services ``manage.py serve`` runs.

| module | job |
| --- | --- |
| ``transport.py`` | ``ChannelTransport``: the live ``Transport`` over the channel layer |
| ``instruments.py`` | instrument specs and account look-ups for live sessions |
| ``history.py`` | historical bars: a CSV, the shipped sample, or yfinance cached on disk |
| ``backtests.py`` | run a backtest and store it as a ``BacktestRun`` (chart, report files) |
| ``runs.py`` | live ``StrategyRun``s: start, stop, record P&L; the in-process run manager |
| ``embedded.py`` | run the matching worker (and feed) in-process when the layer is in-memory |
"""
