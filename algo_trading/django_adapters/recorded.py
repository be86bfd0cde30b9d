"""Replay of what our exchange recorded: OHLCV bars from its own trades, for the backtester.

The matching worker stores each execution as two ``Trade`` rows (``source="exchange"``), one per
account, with the same ``execution_id``, price, quantity and timestamp and ``liquidity`` "taker"
or "maker" (``trading_app/matching_worker/persistence.py``). Counting only the taker rows counts
every execution once.

Bars are time buckets of ``bar_seconds`` aligned on the epoch, stamped with their start and built
from the trades in ``[start, start + bar_seconds)`` only (no peeking into the next interval);
an interval without a trade makes no bar. That is the rule of the live ``BarBuilder``
(``algo_trading/live/bars.py``), so a strategy replayed here sees the bars it would have seen
live. Prices leave the database as Decimal and become float64 here, at the edge, as the CSV
loader's are; the result goes through ``validate_bars`` like any other input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from ..data import DataError, validate_bars

DEFAULT_BAR_SECONDS = 60.0


class ReplayError(DataError):
    """No bars can be built for the request: unknown symbol, no trades, too few bars."""


class UnknownSymbol(ReplayError):
    """The exchange has no instrument of that symbol."""


@dataclass(frozen=True)
class Window:
    """Trades with ``start <= timestamp < end``; None is open-ended. Aware UTC datetimes."""

    start: datetime | None = None
    end: datetime | None = None

    def describe(self, start_name: str = "--start", end_name: str = "--end") -> str:
        first = f"{start_name} {self.start.isoformat()}" if self.start else f"no {start_name}"
        last = f"{end_name} {self.end.isoformat()}" if self.end else f"no {end_name}"
        return f"{first}, {last}"


def as_utc(value: date | datetime | None, *, is_end: bool = False) -> datetime | None:
    """A bound as an aware UTC datetime. A naive datetime is UTC; a date is that day's
    midnight, and as an end the next midnight (so an end date includes its whole day, as
    ``--end`` does for daily bars)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        day = value + timedelta(days=1) if is_end else value
        return datetime.combine(day, time.min, tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_bound(text: str | None, *, is_end: bool = False) -> datetime | None:
    """``2026-01-02`` or ``2026-01-02T15:30[:00][+00:00|Z]`` -> aware UTC datetime (see
    ``as_utc``); ValueError otherwise."""
    if text in (None, ""):
        return None
    text = text.strip()
    if len(text) == 10:
        return as_utc(date.fromisoformat(text), is_end=is_end)
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")), is_end=is_end)


def bar_period(bar_seconds: float) -> pd.Timedelta:
    if isinstance(bar_seconds, bool) or not bar_seconds > 0 or not np.isfinite(bar_seconds):
        raise ValueError(f"bar seconds must be a positive number, got {bar_seconds!r}")
    # whole nanoseconds, as BarBuilder's period_ns
    return pd.Timedelta(max(int(round(float(bar_seconds) * 1e9)), 1), unit="ns")


def bars_from_trades(trades: pd.DataFrame, bar_seconds: float) -> pd.DataFrame:
    """Executions (a DatetimeIndex in time order, columns ``price`` and ``qty``) as OHLCV bars.

    Open is the interval's first trade, Close its last, High/Low the extremes, Volume the
    summed quantity. Buckets start on multiples of ``bar_seconds`` since the epoch; the index is
    naive UTC (the backtester's convention), named ``Date``.
    """
    columns = ["Open", "High", "Low", "Close", "Volume"]
    if trades.empty:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="Date"), dtype=float)
    index = pd.DatetimeIndex(trades.index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    frame = pd.DataFrame(
        {
            "price": trades["price"].to_numpy(dtype=np.float64),
            "qty": trades["qty"].to_numpy(dtype=np.float64),
        },
        index=index.as_unit("ns"),
    )
    grouped = frame.resample(bar_period(bar_seconds), closed="left", label="left", origin="epoch")
    bars = pd.DataFrame(
        {
            "Open": grouped["price"].first(),
            "High": grouped["price"].max(),
            "Low": grouped["price"].min(),
            "Close": grouped["price"].last(),
            "Volume": grouped["qty"].sum(),
            "trades": grouped["price"].count(),
        }
    )
    bars = bars[bars["trades"] > 0][columns]  # an empty interval makes no bar
    bars.index.name = "Date"
    return bars


def exchange_trades(symbol: str, window: Window | None = None) -> pd.DataFrame:
    """The exchange's executions of ``symbol`` in ``window``, one row each (the taker's), in
    execution order: index timestamp (UTC), columns ``price`` (float) and ``qty``."""
    from trading_app.models import Instrument, Trade

    window = window or Window()
    instrument = Instrument.objects.filter(symbol=symbol).first()
    if instrument is None:
        known = ", ".join(Instrument.objects.values_list("symbol", flat=True)) or "none"
        raise UnknownSymbol(f"unknown symbol {symbol!r}; the exchange lists: {known}")
    rows = Trade.objects.filter(instrument_id=instrument.pk, source="exchange", liquidity="taker")
    if window.start is not None:
        rows = rows.filter(timestamp__gte=window.start)
    if window.end is not None:
        rows = rows.filter(timestamp__lt=window.end)
    records = list(
        rows.order_by("timestamp", "execution_id", "id").values_list(
            "timestamp", "price", "quantity"
        )
    )
    index = pd.DatetimeIndex([r[0] for r in records], name="timestamp")
    if index.tz is None and len(index):  # USE_TZ off: the database's naive times are UTC
        index = index.tz_localize("UTC")
    return pd.DataFrame(
        {
            # Decimal -> float at the edge, as the CSV loader reads its text
            "price": np.array([float(r[1]) for r in records], dtype=np.float64),
            "qty": np.array([r[2] for r in records], dtype=np.float64),
        },
        index=index,
    )


def exchange_bars(
    symbol: str,
    bar_seconds: float = DEFAULT_BAR_SECONDS,
    window: Window | None = None,
    *,
    start_name: str = "--start",
    end_name: str = "--end",
) -> tuple[pd.DataFrame, int]:
    """Validated OHLCV bars of ``symbol`` from the exchange's recorded trades, and the number
    of executions they hold. ReplayError (naming the bounds as ``start_name``/``end_name``)
    when there is nothing to backtest."""
    symbol = symbol.strip().upper()
    window = window or Window()
    period = bar_period(bar_seconds)
    trades = exchange_trades(symbol, window)
    if trades.empty:
        raise ReplayError(
            f"no trades of {symbol} recorded by the exchange in the window "
            f"({window.describe(start_name, end_name)}); "
            f"change {start_name}/{end_name} or trade {symbol} first"
        )
    bars = bars_from_trades(trades, bar_seconds)
    if len(bars) < 2:
        raise ReplayError(
            f"{len(trades)} trade(s) of {symbol} in the window "
            f"({window.describe(start_name, end_name)}) make {len(bars)} bar of "
            f"{period.total_seconds():g}s; a backtest needs at least 2: widen "
            f"{start_name}/{end_name} or use shorter bars"
        )
    return validate_bars(bars, label=f"exchange trades of {symbol}"), len(trades)


def replay_info(bar_seconds: float, window: Window | None, executions: int) -> dict:
    """What a stored replay records about its data (``BacktestRun.config["replay"]``)."""
    window = window or Window()
    return {
        "source": "exchange",
        "bar_seconds": float(bar_seconds),
        "start": window.start.isoformat() if window.start else None,
        "end": window.end.isoformat() if window.end else None,
        "executions": executions,
    }
