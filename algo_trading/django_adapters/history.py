"""Historical daily bars for backtests: a CSV file or text, the shipped sample, or yfinance.

Downloads are cached on disk under ``VAR_DIR/cache/bars`` (one CSV per symbol and date range),
so a second run of the same backtest works offline and is reproducible. Offline, yfinance
returns an empty frame (or raises); that becomes ``HistoryUnavailable`` with the caller's hint
(the command names ``--data``, the API the ``data`` field), never an empty backtest.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from ..data import COLUMNS, SAMPLE_CSV, DataError, load_csv, validate_bars

log = logging.getLogger("tradingsim.backtest")

DOWNLOAD_TIMEOUT = 30.0
_SYMBOL = re.compile(r"^[A-Z0-9.\-^=]{1,16}$")


class HistoryUnavailable(DataError):
    """No bars could be obtained for the request (offline, unknown symbol, empty range)."""


def cache_dir() -> Path:
    from django.conf import settings

    path = Path(settings.VAR_DIR) / "cache" / "bars"
    path.mkdir(parents=True, exist_ok=True)
    return path


def bars_from_text(text: str) -> pd.DataFrame:
    """``Date,Open,High,Low,Close,Volume`` CSV text (an API body), validated."""
    return load_csv(io.StringIO(text))


def sample_bars() -> pd.DataFrame:
    """The shipped synthetic daily bars (see algo_trading/data/README.md)."""
    return load_csv(SAMPLE_CSV)


def yahoo_bars(symbol: str, start: date, end: date, hint: str = "") -> pd.DataFrame:
    """Daily bars from Yahoo Finance, ``start`` to ``end`` inclusive, cached on disk."""
    symbol = symbol.strip().upper()
    if not _SYMBOL.match(symbol):
        raise HistoryUnavailable(f"not a ticker symbol: {symbol!r}")
    cached = cache_dir() / f"{symbol}_{start.isoformat()}_{end.isoformat()}_1d.csv"
    if cached.exists():
        log.info("bars for %s from the cache %s", symbol, cached)
        return load_csv(cached)
    frame = _download(symbol, start, end, hint)
    frame.to_csv(cached, index_label="Date")
    return frame


def _download(symbol: str, start: date, end: date, hint: str) -> pd.DataFrame:
    problem = f"could not download daily bars for {symbol} from Yahoo Finance"
    suffix = f"; {hint}" if hint else ""
    try:
        import yfinance as yf
    except ImportError:  # pragma: no cover - yfinance is a requirement
        raise HistoryUnavailable(f"{problem} (yfinance is not installed){suffix}") from None
    # an older yfinance, or a read-only disk: the download works without the tz cache
    with contextlib.suppress(Exception):
        yf.set_tz_cache_location(str(cache_dir() / "yfinance-tz"))

    def fetch() -> pd.DataFrame:
        return yf.download(
            symbol,
            start=start.isoformat(),
            end=(end + timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
            interval="1d",
            auto_adjust=False,
            progress=False,
            threads=False,
        )

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yfinance-history")
    try:
        raw = pool.submit(fetch).result(timeout=DOWNLOAD_TIMEOUT)
    except FutureTimeout:
        raise HistoryUnavailable(f"{problem}: no answer in {DOWNLOAD_TIMEOUT:g}s{suffix}") from None
    except Exception as exc:
        raise HistoryUnavailable(f"{problem} ({type(exc).__name__}: {exc}){suffix}") from None
    finally:
        pool.shutdown(wait=False)
    if raw is None or raw.empty:
        raise HistoryUnavailable(
            f"{problem} between {start} and {end} (offline, or no such symbol){suffix}"
        )
    return _normalise(raw, symbol)


def _normalise(raw: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """yfinance's frame (possibly with (field, ticker) columns) as validated OHLCV bars."""
    frame = raw
    if getattr(frame.columns, "nlevels", 1) > 1:
        level = 1 if symbol in frame.columns.get_level_values(1) else 0
        frame = frame.xs(symbol, axis=1, level=level) if level == 1 else frame.droplevel(1, axis=1)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise HistoryUnavailable(f"Yahoo Finance answered without {', '.join(missing)}")
    out = frame[list(COLUMNS)].astype("float64").dropna()
    index = pd.DatetimeIndex(out.index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    out.index = index.normalize().rename("Date")
    out = out[~out.index.duplicated(keep="last")].sort_index()
    return validate_bars(out, label=f"yfinance {symbol}")


def select_range(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """The bars from ``start`` to ``end`` (inclusive, by date); DataError if fewer than 2."""
    out = frame
    if start is not None:
        out = out[out.index >= pd.Timestamp(start)]
    if end is not None:
        out = out[out.index < pd.Timestamp(end) + pd.Timedelta(days=1)]
    if len(out) < 2:
        covers = (
            f"{frame.index[0].date()} to {frame.index[-1].date()}" if len(frame) else "no dates"
        )
        raise DataError(
            f"only {len(out)} bar(s) between {start or 'the start'} and {end or 'the end'}; "
            f"the data covers {covers}"
        )
    return out
