"""Parameter sweep: a grid of strategy parameters, run in parallel, ranked by a metric.

Each worker process receives the bars once (pool initializer), not once per task: pickling a
million-row DataFrame per grid point would cost more than the backtests. Invalid combinations
(e.g. fast >= slow) are reported as errors in the table instead of aborting the sweep.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TextIO

import pandas as pd

from . import registry
from .metrics import METRIC_KEYS
from .params import ParameterError

#: metrics where smaller is better; everything else ranks descending
LOWER_IS_BETTER = frozenset(
    {"volatility_pct", "max_drawdown_duration_bars", "max_drawdown_duration_days"}
)

_worker_bars: pd.DataFrame | None = None
_worker_kwargs: dict[str, Any] = {}


@dataclass
class SweepResult:
    strategy: str
    metric: str
    rows: list[dict[str, Any]]  # ranked best first; each: params, metrics or error
    elapsed_s: float
    workers: int
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None

    def summary(self) -> str:
        total = len(self.rows) + len(self.errors)
        line = (
            f"sweep {self.strategy}: {total} runs ({len(self.errors)} invalid) in "
            f"{self.elapsed_s:.2f}s on {self.workers} workers"
        )
        if self.best is not None:
            params = " ".join(f"{k}={v}" for k, v in self.best["params"].items())
            line += f"; best {self.metric}={self.best['metrics'].get(self.metric)} with {params}"
        return line

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{**row["params"], **row["metrics"]} for row in self.rows]
            + [{**row["params"], "error": row["error"]} for row in self.errors]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "metric": self.metric,
            "elapsed_s": round(self.elapsed_s, 3),
            "workers": self.workers,
            "rows": self.rows,
            "errors": self.errors,
        }


def expand_grid(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of parameter value lists, in a stable order."""
    keys = list(grid)
    values = [list(grid[k]) for k in keys]
    for key, vals in zip(keys, values, strict=True):
        if not vals:
            raise ValueError(f"grid for {key} is empty")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def _init_worker(bars: pd.DataFrame, kwargs: dict[str, Any]) -> None:
    global _worker_bars, _worker_kwargs
    _worker_bars = bars
    _worker_kwargs = kwargs


def _run_one(index: int, strategy: str, params: dict[str, Any]) -> dict[str, Any]:
    from .runner import run_backtest

    if _worker_bars is None:  # pragma: no cover - initializer always ran
        raise RuntimeError("sweep worker has no bars")
    try:
        result = run_backtest(strategy, _worker_bars, params, **_worker_kwargs)
    except ParameterError as exc:
        return {"index": index, "params": params, "error": str(exc)}
    return {"index": index, "params": params, "metrics": result.metrics}


def _sort_key(metric: str) -> Any:
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0

    def key(row: dict[str, Any]) -> tuple[int, float, int]:
        value = row["metrics"].get(metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (1, 0.0, row["index"])  # undefined values rank last
        return (0, sign * float(value), row["index"])  # ties: grid order, deterministic

    return key


def run_sweep(
    strategy_name: str,
    bars: pd.DataFrame,
    grid: Mapping[str, Sequence[Any]],
    metric: str = "sharpe",
    workers: int | None = None,
    progress: TextIO | bool | None = True,
    start_method: str | None = None,
    **backtest_kwargs: Any,
) -> SweepResult:
    """Backtest every grid point; rank by ``metric``. ``backtest_kwargs`` go to run_backtest.

    ``progress``: True for stderr (looked up at call time), a stream, or None/False for quiet.
    ``start_method``: multiprocessing start method for the workers (None: the platform
    default). Inside a threaded server prefer "forkserver" or "spawn"; note that strategies
    registered at run time (not importable) only reach workers started with "fork".
    """
    if progress is True:
        progress = sys.stderr
    elif progress is False:
        progress = None
    cls = registry.get(strategy_name)
    unknown = [k for k in grid if k not in cls.param_names()]
    if unknown:
        raise ParameterError(
            f"{unknown[0]} is not a parameter of {strategy_name}; "
            f"expected: {', '.join(cls.param_names())}"
        )
    if metric not in METRIC_KEYS:
        raise ValueError(f"metric must be one of {', '.join(METRIC_KEYS)}, got {metric!r}")
    # Coerce each value once ("10" from a CLI becomes 10) so rows report typed params; a value
    # that is invalid on its own fails the whole sweep up front.
    specs = cls._params
    grid = {key: [specs[key].validate(v) for v in values] for key, values in grid.items()}
    combos = expand_grid(grid)
    workers = workers or min(os.cpu_count() or 1, len(combos))
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    done = 0
    tty = progress is not None and progress.isatty()
    step = max(1, len(combos) // 10)

    def report(row: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        (errors if "error" in row else rows).append(row)
        if progress is not None:
            elapsed = time.perf_counter() - started
            line = f"sweep {done}/{len(combos)} ({elapsed:.1f}s)"
            if tty:
                print("\r" + line, end="", file=progress)
            elif done % step == 0 or done == len(combos):
                print(line, file=progress)
            progress.flush()

    if workers <= 1:
        _init_worker(bars, backtest_kwargs)
        for index, params in enumerate(combos):
            report(_run_one(index, strategy_name, params))
    else:
        context = multiprocessing.get_context(start_method) if start_method else None
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(bars, backtest_kwargs),
        ) as pool:
            futures = [pool.submit(_run_one, i, strategy_name, p) for i, p in enumerate(combos)]
            for fut in as_completed(futures):
                report(fut.result())
    if progress is not None and tty:
        print(file=progress)
    rows.sort(key=_sort_key(metric))
    errors.sort(key=lambda row: row["index"])
    result = SweepResult(
        strategy=strategy_name,
        metric=metric,
        rows=rows,
        elapsed_s=time.perf_counter() - started,
        workers=workers,
        errors=errors,
    )
    if progress is not None:
        print(result.summary(), file=progress)
    return result
