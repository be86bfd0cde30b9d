"""``run_backtest``: the one entry point the CLI, the management command and the API call.

Takes plain, JSON-friendly arguments (a strategy name, a params dict, cost/sizing dicts) so a
request body maps straight onto it; validates all of it before touching the data; returns a
``BacktestResult``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import registry
from .costs import (
    CommissionModel,
    SlippageModel,
    commission_from_spec,
    slippage_from_spec,
)
from .data import DataError, load_csv, to_arrays, validate_bars
from .engine import run_event_driven
from .metrics import compute_metrics, infer_periods_per_year
from .result import BacktestResult
from .sizing import Sizer, sizer_from_spec
from .strategy import Strategy
from .vectorised import run_vectorised

ENGINES = ("auto", "event", "vectorised")
#: the most starting cash a backtest takes (a trillion; also the API's limit)
MAX_CASH = 1_000_000_000_000


def run_backtest(
    strategy_name: str | Strategy,
    bars: pd.DataFrame | str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    cash: float = 100_000.0,
    commission: Mapping[str, Any] | CommissionModel | None = None,
    slippage: Mapping[str, Any] | SlippageModel | None = None,
    sizing: Mapping[str, Any] | Sizer | None = None,
    engine: str = "auto",
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    symbol: str = "",
) -> BacktestResult:
    """Backtest a registered strategy (or a Strategy instance) over OHLCV bars.

    Args:
        strategy_name: registry name (``"ma_crossover"``...) or a constructed Strategy.
        bars: DataFrame (DatetimeIndex; Open, High, Low, Close, Volume) or a CSV path.
        params: strategy parameters; validated, unknown names rejected (ParameterError).
        cash: starting cash.
        commission: ``{"model": "per_share", "rate": 0.005, "minimum": 1.0}``,
            ``{"model": "percent", "rate_pct": 0.1, "minimum": 0.0}`` or None (free).
        slippage: ``{"model": "bps", "bps": 5}``, ``{"model": "range", "fraction": 0.1}``
            or None; applies to market orders only.
        sizing: ``{"model": "fraction", "fraction": 1.0}`` (default),
            ``{"model": "fixed", "quantity": 100}`` or
            ``{"model": "volatility", "target_pct": 15, "lookback": 20, "max_leverage": 1}``.
        engine: "event" (reference), "vectorised" (strategies that support it) or "auto"
            (vectorised when supported: it gives the same trades, much faster).
        periods_per_year: annualisation factor; inferred from bar spacing when None.
        risk_free_rate: annual rate (0.04 = 4%) for Sharpe and Sortino.
        symbol: label for reports.
    """
    if isinstance(strategy_name, Strategy):
        if params:
            raise ValueError("pass params to the Strategy constructor, not to run_backtest")
        strategy = strategy_name
    else:
        strategy = registry.create(strategy_name, dict(params or {}))
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if (
        isinstance(cash, bool)
        or not isinstance(cash, int | float)
        or not (math.isfinite(cash) and 0 < cash <= MAX_CASH)
    ):
        raise ValueError(f"cash must be a positive number of at most {MAX_CASH:g}, got {cash!r}")
    commission_model = commission_from_spec(commission)
    slippage_model = slippage_from_spec(slippage)
    sizer = sizer_from_spec(sizing)

    if isinstance(bars, str | os.PathLike):
        df = load_csv(bars)
        symbol = symbol or os.path.splitext(os.path.basename(os.fspath(bars)))[0]
    else:
        df = validate_bars(bars)
    data = to_arrays(df)
    if len(data) < 2:
        raise DataError("need at least 2 bars to backtest")
    if periods_per_year is None:
        periods_per_year = infer_periods_per_year(data.ts)
    elif not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year!r}")
    sizer.bind(periods_per_year)

    use_vector = engine == "vectorised" or (engine == "auto" and strategy.vectorisable)
    if engine == "vectorised" and not strategy.vectorisable:
        raise ValueError(f"{strategy.name} has no vectorised form; use engine='event'")

    started = time.perf_counter()
    if use_vector:
        raw = run_vectorised(strategy, data, float(cash), commission_model, slippage_model, sizer)
    else:
        raw = run_event_driven(
            strategy, data, float(cash), commission_model, slippage_model, sizer, symbol
        )
    ledger = raw.ledger
    position, equity = ledger.curves(data.close)
    metrics = compute_metrics(
        equity,
        position,
        data.close,
        data.ts,
        ledger.trades,
        float(cash),
        periods_per_year,
        risk_free_rate,
        ledger.total_commission,
    )
    elapsed = time.perf_counter() - started

    index = pd.DatetimeIndex(data.ts.astype("datetime64[ns]"), name="Date")
    return BacktestResult(
        strategy=strategy.name or type(strategy).__name__,
        params=strategy.params,
        symbol=symbol,
        engine=raw.engine,
        settings={
            "cash": float(cash),
            "commission": commission_model.spec(),
            "slippage": slippage_model.spec(),
            "sizing": sizer.spec(),
            "periods_per_year": periods_per_year,
            "risk_free_rate": risk_free_rate,
        },
        metrics=metrics,
        trades=ledger.trades,
        index=index,
        close=data.close,
        equity_values=equity,
        position_values=position,
        open_position=ledger.open_trade(float(data.close[-1])),
        orders_submitted=raw.orders_submitted,
        open_orders=raw.open_orders,
        elapsed_s=elapsed,
    )
