import io

import numpy as np
import pandas as pd
import pytest

from algo_trading import DataError, generate_bars, load_csv, validate_bars
from algo_trading.data import SAMPLE_CSV, to_arrays

GOOD = (
    "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,12,10,11,200\n"
)


def csv(text):
    return io.StringIO(text)


def test_loads_a_good_file():
    df = load_csv(csv(GOOD))
    assert list(df.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert isinstance(df.index, pd.DatetimeIndex) and len(df) == 2
    assert df["Close"].tolist() == [10.5, 11.0]


def test_column_names_are_case_insensitive_and_extras_ignored():
    text = "date,open,high,low,close,adj close,volume\n2024-01-02,10,11,9,10.5,10.4,100\n"
    assert load_csv(csv(text))["Close"].iloc[0] == 10.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n",
            "missing column Volume; found: Date, Open, High, Low, Close",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,1\nnot-a-date,1,1,1,1,1\n",
            "line 3: cannot parse date 'not-a-date'",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,0,1\n",
            "line 2: Close must be positive, got 0",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,-1,1,1,1,1\n",
            "line 2: Open must be positive, got -1",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,abc,1\n",
            "line 2: Close is not a number: 'abc'",
        ),
        (
            "Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,-5\n",
            "line 2: Volume must be >= 0, got -5",
        ),
        ("Date,Open,High,Low,Close,Volume\n2024-01-02,10,9,8,9.5,1\n", "line 2: inconsistent bar"),
        (GOOD + "2024-01-03,1,1,1,1,1\n", "line 4: timestamp duplicate"),
        (GOOD + "2024-01-01,1,1,1,1,1\n", "line 4: timestamp out of order"),
        ("Date,Open,High,Low,Close,Volume\n", "no rows"),
        ("", "file is empty"),
    ],
)
def test_clear_errors(text, message):
    with pytest.raises(DataError) as err:
        load_csv(csv(text))
    assert message in str(err.value)


def test_missing_file():
    with pytest.raises(DataError, match="no such file"):
        load_csv("/nonexistent/bars.csv")


def test_validate_dataframes():
    df = generate_bars(10)
    assert validate_bars(df) is df
    with pytest.raises(DataError, match="DatetimeIndex"):
        validate_bars(df.reset_index())
    bad = df.copy()
    bad.iloc[4, bad.columns.get_loc("Low")] = np.nan
    with pytest.raises(DataError, match=r"row 4 .*Low is not a finite number"):
        validate_bars(bad)


def test_sample_csv_is_two_years_of_daily_bars():
    df = load_csv(SAMPLE_CSV)
    assert 480 <= len(df) <= 520
    assert df.index[0].year == 2023 and (df.index[-1] - df.index[0]).days > 650


def test_generator_is_seeded_and_consistent():
    a = generate_bars(500, seed=3)
    b = generate_bars(500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate_bars(500, seed=4))
    validate_bars(a)
    assert (a["High"] >= a[["Open", "Close"]].max(axis=1)).all()
    assert (a["Low"] <= a[["Open", "Close"]].min(axis=1)).all()


def test_minute_bars_follow_sessions():
    df = generate_bars(800, freq="1min", seed=1)
    validate_bars(df)
    assert df.index[0] == pd.Timestamp("2022-01-03 09:30")
    assert df.index[389] == pd.Timestamp("2022-01-03 15:59")
    assert df.index[390] == pd.Timestamp("2022-01-04 09:30")


def test_tz_aware_index_becomes_utc_nanoseconds():
    df = generate_bars(3)
    df.index = df.index.tz_localize("America/New_York")
    ts = to_arrays(df).ts
    assert ts[0] == pd.Timestamp("2022-01-03 05:00").value
    df.index = df.index.tz_localize(None).as_unit("s")
    assert to_arrays(df).ts[0] == pd.Timestamp("2022-01-03").value
