"""Loading and validating OHLCV bars.

The engines trust their input completely (that is how they stay fast), so every DataFrame goes
through ``validate_bars`` first and every problem is reported with the row it is on.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import BarArrays

COLUMNS = ("Open", "High", "Low", "Close", "Volume")
#: two years of synthetic daily bars shipped for demos and tests (see data/README.md)
SAMPLE_CSV = Path(__file__).resolve().parent / "data" / "sample_AAPL.csv"
PRICE_COLUMNS = ("Open", "High", "Low", "Close")
#: the sane range of a price: a billion per share at most (the exchange's limit too), and no
#: less than a hundred-millionth (micro-priced tokens); beyond it float arithmetic on positions
#: and equity (and the chart's axes) would overflow
MIN_PRICE = 1e-8
MAX_PRICE = 1e9
#: the most shares (or units) one bar may trade
MAX_VOLUME = 1e18


class DataError(ValueError):
    """Bars are missing a column, unparsable, unsorted or inconsistent."""


def load_csv(source: str | os.PathLike[str] | io.TextIOBase) -> pd.DataFrame:
    """Read a ``Date,Open,High,Low,Close,Volume`` CSV into a validated bar DataFrame.

    Column names match case-insensitively and extra columns (e.g. ``Adj Close``) are ignored.
    Row numbers in errors are file line numbers (the header is line 1).
    """
    label = str(source) if isinstance(source, str | os.PathLike) else "<csv>"
    if isinstance(source, str | os.PathLike) and not Path(source).exists():
        raise DataError(f"{label}: no such file")
    try:
        raw = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{label}: not a readable CSV ({exc})") from None
    by_lower = {c.strip().lower(): c for c in raw.columns}
    wanted = ("Date", *COLUMNS)
    missing = [c for c in wanted if c.lower() not in by_lower]
    if missing:
        found = ", ".join(str(c) for c in raw.columns) or "nothing"
        raise DataError(f"{label}: missing column {', '.join(missing)}; found: {found}")
    if raw.empty:
        raise DataError(f"{label}: no rows")
    dates_raw = raw[by_lower["date"]].str.strip()
    dates = pd.to_datetime(dates_raw, errors="coerce", format="mixed")
    bad = dates.isna().to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(f"{label}: line {k + 2}: cannot parse date {dates_raw.iloc[k]!r}")
    out = pd.DataFrame(index=pd.DatetimeIndex(dates, name="Date"))
    for col in COLUMNS:
        text = raw[by_lower[col.lower()]].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        nan = np.isnan(values)
        if nan.any():
            k = int(np.argmax(nan))
            raise DataError(f"{label}: line {k + 2}: {col} is not a number: {text.iloc[k]!r}")
        out[col] = values
    return validate_bars(out, label=label, line_offset=2)


def validate_bars(
    df: pd.DataFrame, label: str = "bars", line_offset: int | None = None
) -> pd.DataFrame:
    """Check an OHLCV DataFrame; returns it with float columns, or raises DataError.

    Requires a DatetimeIndex, strictly increasing; finite prices from ``MIN_PRICE`` to
    ``MAX_PRICE``; volume from 0 to ``MAX_VOLUME``; ``Low <= min(Open, Close)`` and
    ``High >= max(Open, Close)``.
    """

    def where(k: int) -> str:
        if line_offset is not None:
            return f"line {k + line_offset}"
        return f"row {k} ({df.index[k]})"

    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{label}: expected a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataError(f"{label}: index must be a DatetimeIndex, got {type(df.index).__name__}")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(
            f"{label}: missing column {', '.join(missing)}; found: {', '.join(map(str, df.columns))}"
        )
    if len(df) == 0:
        raise DataError(f"{label}: no rows")
    if df.index.hasnans:
        raise DataError(f"{label}: {where(int(np.argmax(df.index.isna())))}: missing timestamp")
    ts = df.index.asi8
    if len(ts) > 1:
        step = np.diff(ts)
        if (step <= 0).any():
            k = int(np.argmax(step <= 0)) + 1
            what = "duplicate" if step[k - 1] == 0 else "out of order"
            raise DataError(f"{label}: {where(k)}: timestamp {what} ({df.index[k]})")
    cols = {}
    for col in COLUMNS:
        try:
            values = df[col].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{label}: column {col} is not numeric") from None
        finite = np.isfinite(values)
        if not finite.all():
            k = int(np.argmax(~finite))
            raise DataError(f"{label}: {where(k)}: {col} is not a finite number")
        if col in PRICE_COLUMNS:
            bad = values <= 0
            if bad.any():
                k = int(np.argmax(bad))
                raise DataError(f"{label}: {where(k)}: {col} must be positive, got {values[k]:g}")
            bad = (values < MIN_PRICE) | (values > MAX_PRICE)
            if bad.any():
                k = int(np.argmax(bad))
                raise DataError(
                    f"{label}: {where(k)}: {col} {values[k]:g} is out of range (prices must be "
                    f"between {MIN_PRICE:g} and {MAX_PRICE:g})"
                )
        elif (values < 0).any():
            k = int(np.argmax(values < 0))
            raise DataError(f"{label}: {where(k)}: Volume must be >= 0, got {values[k]:g}")
        elif (values > MAX_VOLUME).any():
            k = int(np.argmax(values > MAX_VOLUME))
            raise DataError(
                f"{label}: {where(k)}: Volume {values[k]:g} is out of range (at most "
                f"{MAX_VOLUME:g})"
            )
        cols[col] = values
    o, h, lo, c = cols["Open"], cols["High"], cols["Low"], cols["Close"]
    tol = 1e-9 * np.maximum(np.abs(h), 1.0)
    bad = (h + tol < np.maximum(o, c)) | (lo - tol > np.minimum(o, c)) | (lo > h + tol)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{label}: {where(k)}: inconsistent bar (Open {o[k]:g}, High {h[k]:g}, "
            f"Low {lo[k]:g}, Close {c[k]:g})"
        )
    if all(df[col].dtype == np.float64 for col in COLUMNS):
        return df
    out = df.copy()
    for col in COLUMNS:
        out[col] = cols[col]
    return out


def to_arrays(df: pd.DataFrame) -> BarArrays:
    """Contiguous float64 columns and int64 UTC-nanosecond timestamps for the engines.

    A tz-aware index is converted to UTC; a naive one is taken to be UTC already.
    """
    index = df.index
    if index.tz is not None:
        index = index.tz_convert("UTC")
    return BarArrays(
        ts=np.ascontiguousarray(index.as_unit("ns").asi8, dtype=np.int64),
        open=np.ascontiguousarray(df["Open"].to_numpy(dtype=np.float64)),
        high=np.ascontiguousarray(df["High"].to_numpy(dtype=np.float64)),
        low=np.ascontiguousarray(df["Low"].to_numpy(dtype=np.float64)),
        close=np.ascontiguousarray(df["Close"].to_numpy(dtype=np.float64)),
        volume=np.ascontiguousarray(df["Volume"].to_numpy(dtype=np.float64)),
    )
