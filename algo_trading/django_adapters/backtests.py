"""Run a backtest and keep it: a ``BacktestRun`` row with metrics, trades, chart and report.

The command line (``manage.py backtest``) and the API (``POST /api/backtests/``) both come
here, so a run looks the same wherever it was asked for. ``run_backtest`` validates everything
before it touches the bars, so a bad request raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from ..metrics import json_safe
from ..result import BacktestResult
from ..runner import run_backtest

Progress = Callable[[str], None]


@dataclass
class BacktestRequest:
    """Everything a stored backtest records about how it was asked for."""

    strategy: str
    symbol: str
    params: dict[str, Any] = field(default_factory=dict)
    start: date | None = None
    end: date | None = None
    cash: float = 100_000.0
    commission: Mapping[str, Any] | None = None
    slippage: Mapping[str, Any] | None = None
    sizing: Mapping[str, Any] | None = None
    engine: str = "auto"
    data_label: str = ""  # "sample", a file name, "upload", "yfinance", "exchange"
    replay: Mapping[str, Any] | None = None  # data "exchange": bar seconds, window, executions

    def config(self) -> dict[str, Any]:
        extra = {"replay": dict(self.replay)} if self.replay else {}
        return {
            "cash": self.cash,
            "commission": dict(self.commission) if self.commission else None,
            "slippage": dict(self.slippage) if self.slippage else None,
            "sizing": dict(self.sizing) if self.sizing else None,
            "engine": self.engine,
            "data": self.data_label,
            **extra,
        }


def commission_spec(value: Any) -> dict[str, Any] | None:
    """A number is a percent of notional (0.1 = 0.1%), as ``--commission PCT``; a dict is a
    full spec (``{"model": "per_share", "rate": 0.005}``); None or 0 is free."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, bool):
        raise ValueError(f"commission must be a percent or a spec object, got {value!r}")
    try:
        pct = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"commission must be a percent or a spec object, got {value!r}") from None
    if pct == 0:
        return None
    return {"model": "percent", "rate_pct": pct}


def run_and_store(
    request: BacktestRequest,
    bars: pd.DataFrame,
    *,
    user: Any = None,
    progress: Progress | None = None,
) -> tuple[Any, BacktestResult]:
    """Backtest, render the chart and report, save all of it; returns (BacktestRun, result)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from trading_app.models import BacktestRun

    say = progress or (lambda _line: None)
    say(f"running {request.strategy} on {len(bars)} bars of {request.symbol}")
    result = run_backtest(
        request.strategy,
        bars,
        request.params,
        cash=request.cash,
        commission=request.commission,
        slippage=request.slippage,
        sizing=request.sizing,
        engine=request.engine,
        symbol=request.symbol,
    )
    run = BacktestRun.objects.create(
        strategy=result.strategy,
        symbol=request.symbol,
        params=result.params,
        config=json_safe({**request.config(), "bars": result.bars, "resolved": result.settings}),
        start=request.start or result.index[0].date(),
        end=request.end or result.index[-1].date(),
        status="running",
        metrics=json_safe(result.metrics),
        trades=json_safe([t.to_dict() for t in result.trades]),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    try:
        say("rendering the chart and the report")
        png = result.plot_png()
        stem = f"backtest_{run.pk}_{result.strategy}_{request.symbol}".replace("/", "_")
        run.chart.save(f"{stem}.png", ContentFile(png), save=False)
        run.report.save(f"{stem}.html", ContentFile(result.to_html(png).encode()), save=False)
        run.config["open_position"] = json_safe(result.open_position)
        run.status = "done"
    except Exception as exc:
        run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
    return run, result


def summary_line(result: BacktestResult) -> str:
    m = result.metrics
    return (
        f"{result.strategy} {result.symbol} {result.bars} bars ({result.engine}): "
        f"return {m['total_return_pct']}% (buy & hold {m['buy_hold_return_pct']}%), "
        f"sharpe {m['sharpe']}, max drawdown {m['max_drawdown_pct']}%, "
        f"{m['num_trades']} trades, win rate {m['win_rate_pct']}%"
    )
