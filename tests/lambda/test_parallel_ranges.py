"""The parallel analysis (trade_parallel): byte ranges analysed in worker processes and merged
must give exactly the single pass's analysis, wherever the ranges cut the file and whatever is
in it. Where a part cannot be analysed on its own (quotes, CR, a header after the first range,
a timestamp the fast path would judge by the rows before it), the caller's single pass runs:
the final result is the same either way, and plain exports never need it.
"""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
import trade_parallel
import trade_stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trade_analyzer import TradeCsvError, analyze_lines
from trade_lines import iter_lines
from trade_parallel import analyze_ranges, range_bytes, worker_count
from trade_report import build_report
from trade_stats import DayStats, NotMergeable

from tests.support.trade_csv import HEADER_LINE, generate_lines, trade_line

DAY = date(2025, 1, 20)
TS = "2025-01-20T15:00:00.000000Z"


class BytesBody:
    """A streaming body over bytes held in memory, in small chunks (many chunk boundaries)."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk = data, chunk

    def iter_chunks(self, _size: int):
        for i in range(0, len(self.data), self.chunk):
            yield self.data[i : i + self.chunk]


def single(data: bytes) -> dict:
    return analyze_lines(iter_lines([data]), day=DAY)


def in_ranges(data: bytes, workers: int, chunk: int = 7, ignore_range: bool = False):
    """analyze_ranges over `data`; None when it hands the file back to the single pass."""

    def open_range(start: int):
        offset = 0 if ignore_range else start
        return BytesBody(data[offset:], chunk), offset

    stats = analyze_ranges(open_range, len(data), DAY, workers)
    return None if stats is None else build_report(stats)


def as_analyze_object(data: bytes, workers: int, **kwargs) -> dict:
    """What analyze_object returns: the ranges' result, or the single pass's."""
    result = in_ranges(data, workers, **kwargs)
    return single(data) if result is None else result


def csv_bytes(lines: list[str], end: str = "\n") -> bytes:
    return (end.join([HEADER_LINE, *lines]) + end).encode()


def line_starts(data: bytes) -> list[int]:
    return [0, *(i + 1 for i, byte in enumerate(data) if byte == 10 and i + 1 < len(data))]


# --- range_bytes: each line goes to exactly one range, whole -------------------------------


TEXT = b"a,1\n\nbb,22\nccc,333\nd\n\n\neeeeeeeeeeeeeeeeeeee,5\nf"


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
@pytest.mark.parametrize("ignore_range", [False, True])
def test_ranges_hold_the_lines_that_start_in_them(chunk, ignore_range):
    data = TEXT
    starts = line_starts(data)
    for start in range(len(data)):
        for end in range(start + 1, len(data) + 1):
            offset = 0 if ignore_range else max(start - 1, 0)
            pieces = list(
                range_bytes(BytesBody(data[offset:], chunk).iter_chunks(0), offset, start, end)
            )
            owned = [s for s in starts if start <= s < end]
            expected = (
                b""
                if not owned
                else data[owned[0] : next((s for s in starts if s >= end), len(data))]
            )
            assert b"".join(pieces) == expected, (start, end)
            assert all(pieces), "an empty piece would read as the end of the range"


def test_ranges_put_together_are_the_file():
    data = TEXT
    for workers in range(1, 8):
        bounds = [len(data) * k // workers for k in range(workers + 1)]
        parts = [
            b"".join(
                range_bytes(BytesBody(data[max(a - 1, 0) :], 3).iter_chunks(0), max(a - 1, 0), a, b)
            )
            for a, b in zip(bounds, bounds[1:], strict=False)
        ]
        assert b"".join(parts) == data, workers


# --- the whole analysis: ranges and merge against the single pass ---------------------------


def mixed_day(rows: int = 400, seed: int = 3) -> list[str]:
    """A generated day with malformed, blank and slow-path rows sprinkled through it."""
    lines = [line.rstrip("\n") for line in generate_lines(rows, DAY, seed=seed)][1:]
    odd = [
        "1,2,3",
        "",
        trade_line("x1", TS, "AAPL", "hold", "100.00", 10),
        trade_line("x2", TS, "AAPL", "buy", "-1.00", 10),
        trade_line("x3", "2025-01-21T15:00:00.000000Z", "AAPL", "buy", "1.00", 10),
        trade_line("x4", "2025-01-20T16:00:00+01:00", "MSFT", "sell", "10.5", 3),
        trade_line("x5", "2025-01-20T15:00:00Z", "MSFT", "SELL", "10.50", 7),
        trade_line("x6", TS, "AAPL", "buy", "100.00", 0),
    ]
    for n, line in enumerate(odd):
        lines.insert((n * 53 + 11) % len(lines), line)
    return lines


@pytest.mark.parametrize("workers", [2, 3, 4, 7])
def test_ranges_give_the_single_pass_result_with_malformed_rows(workers):
    data = csv_bytes(mixed_day())
    expected = single(data)
    assert expected["malformed_rows"] == 5 and len(expected["malformed_samples"]) == 5
    result = in_ranges(data, workers)
    assert result is not None, "a plain file must not need the single pass"
    assert json.dumps(result) == json.dumps(expected)


def test_every_cut_point_between_two_ranges():
    """Rows right at a range boundary: the boundary at every byte of the first lines."""
    lines = mixed_day(rows=30)
    data = csv_bytes(lines)
    expected = json.dumps(single(data))
    bounds_tried = 0
    for cut in range(1, min(len(data), 900)):
        # Two ranges cut at `cut`, read and merged as analyze_ranges does, in this process.
        part0 = b"".join(range_bytes(BytesBody(data, 5).iter_chunks(0), 0, 0, cut))
        rest = BytesBody(data[cut - 1 :], 5).iter_chunks(0)
        part1 = b"".join(range_bytes(rest, cut - 1, cut, len(data)))
        assert part0 + part1 == data
        first, second = DayStats(DAY), DayStats(DAY)
        read = first.consume(iter_lines([part0]), plain_only=True)
        second.consume(iter_lines([part1], bom=False), header=False, plain_only=True)
        first.merge(second, read)
        assert json.dumps(build_report(first)) == expected, cut
        bounds_tried += 1
    assert bounds_tried > 800


def test_a_range_without_a_line_start_analyses_nothing():
    long = trade_line("long", TS, "AAPL", "buy", "1.00", 1, account="a" * 5000)
    data = csv_bytes([trade_line(1, TS, "AAPL", "buy", "2.00", 5), long, "1,2"])
    assert json.dumps(in_ranges(data, 6)) == json.dumps(single(data))


def test_bom_only_at_the_start_of_the_file():
    rows = mixed_day(rows=60)
    rows[40] = "\ufeff" + rows[40]  # mid-file: data, and a bad trade id is still a trade id
    data = "\ufeff".encode() + csv_bytes(rows)
    assert json.dumps(in_ranges(data, 3)) == json.dumps(single(data))


def test_undecodable_bytes_and_no_final_newline():
    data = csv_bytes(mixed_day(rows=80))[:-1] + b"\n9,\xff\xfe,AAPL,buy,1,1,a,,x"
    assert json.dumps(in_ranges(data, 4)) == json.dumps(single(data))


def test_quoted_fields_go_to_the_single_pass():
    rows = mixed_day(rows=120)
    rows[90] = trade_line(90, TS, "AAPL", "buy", "10.00", 5, account='"x,\ny"')
    data = csv_bytes(rows)
    assert in_ranges(data, 3) is None
    assert as_analyze_object(data, 3) == single(data)


def test_crlf_goes_to_the_single_pass():
    data = csv_bytes(mixed_day(rows=100), end="\r\n")
    assert in_ranges(data, 2) is None
    assert as_analyze_object(data, 2) == single(data)


def test_header_after_the_first_range_goes_to_the_single_pass():
    data = b"\n" * 5000 + csv_bytes(mixed_day(rows=20))
    assert in_ranges(data, 4) is None
    assert as_analyze_object(data, 4) == single(data)


def test_wrong_header_is_a_csv_error():
    data = b"trade_id,when,ticker\n" + csv_bytes(mixed_day(rows=50))
    with pytest.raises(TradeCsvError, match="unexpected CSV header"):
        in_ranges(data, 3)


def test_timestamp_the_fast_path_would_trust_goes_to_the_single_pass():
    """Known limit: once a minute is known, later rows of it are taken as written. A part that
    meets a bad-seconds row first would reject it: the merge must not pretend otherwise."""
    rows = [
        trade_line(n, f"2025-01-20T15:0{n // 100}:{n % 60:02d}.000000Z", "AAPL", "buy", "1", 1)
        for n in range(200)
    ]
    # The second range's first row in minute 15:00, which the first range makes known. With two
    # workers the second range begins at 1/2 to 3/4 of the file (trade_parallel._Plan).
    rows[190] = trade_line(190, "2025-01-20T15:00:99.000000Z", "AAPL", "buy", "1.00", 1)
    data = csv_bytes(rows)
    expected = single(data)
    assert expected["malformed_rows"] == 0  # the single pass trusts it: that is the limit
    assert in_ranges(data, 2) is None
    assert as_analyze_object(data, 2) == expected


def test_high_and_low_keep_the_first_spelling_across_folds():
    rows = [
        trade_line(1, TS, "AAPL", "buy", "3.0", 1),
        trade_line(2, TS, "AAPL", "buy", "1.50", 1),
        trade_line(3, TS, "AAPL", "buy", "2", 1),
        trade_line(4, TS, "AAPL", "buy", "3", 1),
        trade_line(5, TS, "AAPL", "buy", "1.5", 1),
    ]
    with mock.patch.object(trade_stats, "PRICE_TABLE_LIMIT", 2):
        folded = single(csv_bytes(rows))["tickers"]["AAPL"]
    unfolded = single(csv_bytes(rows))["tickers"]["AAPL"]
    assert (folded["high"], folded["low"]) == (unfolded["high"], unfolded["low"]) == ("3.0", "1.50")


def test_ranged_gets_that_answer_late_move_the_bounds(caplog):
    """Range 0 gets going while the other GETs are on their way; the rest is split evenly."""
    import logging
    import time

    caplog.set_level(logging.DEBUG, logger=trade_parallel.logger.name)
    data = csv_bytes(mixed_day(rows=6000, seed=5))

    def open_range(start):
        if start:
            time.sleep(0.3)
        return BytesBody(data[start:], 4096), start

    stats = analyze_ranges(open_range, len(data), DAY, 3)
    assert stats is not None
    assert json.dumps(build_report(stats)) == json.dumps(single(data))
    (bounds,) = [r.args[0] for r in caplog.records if r.msg.startswith("ranges %s")]
    head_start = [r.args[2] for r in caplog.records if r.msg.startswith("ranges %s")][0]
    assert head_start > 0
    assert bounds[0] == 0 and bounds[-1] == len(data)
    assert bounds[1] > len(data) // 3 and bounds[2] > 2 * len(data) // 3
    left = [b - a for a, b in zip([head_start, *bounds[1:]], bounds[1:], strict=False)]
    assert max(left) - min(left) <= 2, left  # what was left to do, split evenly


def test_a_worker_that_dies_hands_over_to_the_single_pass(monkeypatch):
    real = trade_stats.DayStats.consume

    def dies_in_a_later_range(self, lines, *, header=True, plain_only=False):
        if not header:
            os._exit(3)  # in the worker process only: the parent never reads without a header
        return real(self, lines, header=header, plain_only=plain_only)

    monkeypatch.setattr(trade_stats.DayStats, "consume", dies_in_a_later_range)
    assert in_ranges(csv_bytes(mixed_day(rows=100)), 3) is None


def test_an_s3_error_while_reading_a_range_is_raised():
    data = csv_bytes(mixed_day(rows=100))

    class Broken(Exception):
        pass

    def open_range(start):
        if start:
            raise Broken("connection reset")
        return BytesBody(data, 64), 0

    with pytest.raises(Broken):
        analyze_ranges(open_range, len(data), DAY, 3)


def test_merge_refuses_a_trust_sensitive_part_and_changes_nothing():
    minute = "2025-01-20T15:00:"
    first, second = DayStats(DAY), DayStats(DAY)
    first.consume([HEADER_LINE, trade_line(1, f"{minute}01.000000Z", "AAPL", "buy", "1", 1)])
    second.consume([trade_line(2, f"{minute}99.000000Z", "AAPL", "buy", "1", 1)], header=False)
    before = json.dumps(build_report(first))
    with pytest.raises(NotMergeable):
        first.merge(second, 2)
    assert json.dumps(build_report(first)) == before


# --- property: any file, any number of ranges ----------------------------------------------

stamps = st.sampled_from(
    [
        "2025-01-20T15:00:00.000000Z",
        "2025-01-20T15:00:00.000000Z",  # ties
        "2025-01-20T15:00:01.500000Z",
        "2025-01-20T09:30:00.250000Z",
        "2025-01-20T09:30:00Z",
        "2025-01-20T10:30:00+01:00",
        "2025-01-21T00:00:00.000000Z",
        "2025-01-20T15:00:77.000000Z",  # bad seconds in a minute others make known
    ]
)
rows = st.builds(
    trade_line,
    st.integers(1, 10**6),
    stamps,
    st.sampled_from(["AAPL", "MSFT", "X", "bad ticker"]),
    st.sampled_from(["buy", "sell", "SELL", "hold"]),
    st.sampled_from(["100.00", "100", "99.5", "99.50", "0.01", "abc", "0"]),
    st.sampled_from([1, 10, 250, 0, "010"]),
)
odd_rows = st.sampled_from(["", "1,2,3", " ", ",,,,,,,,", "a,b,c,d,e,f,g,h,i,j", "\ufeffx"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    lines=st.lists(st.one_of(rows, rows, rows, odd_rows), min_size=1, max_size=60),
    workers=st.integers(2, 5),
    chunk=st.sampled_from([1, 3, 16, 1000]),
    ignore_range=st.booleans(),
)
def test_any_file_in_ranges_equals_the_single_pass(lines, workers, chunk, ignore_range):
    data = csv_bytes(lines)
    expected = json.dumps(single(data))
    result = in_ranges(data, workers, chunk=chunk, ignore_range=ignore_range)
    if result is None:  # handed back: only a timestamp the fast path would trust does that
        assert any("2025-01-20T15:00:77" in line for line in lines)
    else:
        assert json.dumps(result) == expected


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(rows, rows, odd_rows), min_size=1, max_size=40), data=st.data())
def test_merging_consecutive_parts_equals_one_pass(lines, data):
    """DayStats.merge alone (no processes): the file cut into parts at any lines."""
    all_lines = [HEADER_LINE, *lines]
    cuts = sorted(data.draw(st.lists(st.integers(1, len(all_lines)), max_size=4)))
    parts = [all_lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(all_lines)], strict=True)]
    total = DayStats(DAY)
    offset = total.consume(parts[0])
    try:
        for part in parts[1:]:
            later = DayStats(DAY)
            read = later.consume(part, header=False)
            total.merge(later, offset)
            offset += read
    except NotMergeable:
        assert any("2025-01-20T15:00:77" in line for line in lines)
        return
    assert json.dumps(build_report(total)) == json.dumps(analyze_lines(all_lines, day=DAY))


# --- how many workers ----------------------------------------------------------------------


def test_worker_count(monkeypatch):
    big = 64 * trade_parallel.MIN_RANGE_BYTES
    monkeypatch.setenv(trade_parallel.WORKERS_ENV, "3")
    assert worker_count(big) == 3
    assert worker_count(2 * trade_parallel.MIN_RANGE_BYTES + 1) == 2  # ranges stay big enough
    assert worker_count(trade_parallel.MIN_RANGE_BYTES - 1) == 1
    assert worker_count(0) == 1
    monkeypatch.setenv(trade_parallel.WORKERS_ENV, "1")
    assert worker_count(big) == 1
    monkeypatch.setattr(trade_parallel, "usable_cpus", lambda: 5)
    for bad in ("0", "-2", "two", ""):
        monkeypatch.setenv(trade_parallel.WORKERS_ENV, bad)
        assert worker_count(big) == 5
    monkeypatch.delenv(trade_parallel.WORKERS_ENV)
    assert worker_count(big) == 5


def test_usable_cpus_is_at_least_one():
    assert 1 <= trade_parallel.usable_cpus() <= (os.cpu_count() or 1)


# --- through the handler, against moto's S3 over HTTP --------------------------------------


class RecordingClient:
    """A boto3 S3 client that notes the GETs made through it."""

    def __init__(self, client) -> None:
        self._client = client
        self.gets: list[dict] = []

    def get_object(self, **kwargs):
        self.gets.append(kwargs)
        return self._client.get_object(**kwargs)

    def put_object(self, **kwargs):
        return self._client.put_object(**kwargs)


class RangeIgnoringClient(RecordingClient):
    """Like the app's local-directory stand-in: Range is ignored, the whole body comes back."""

    def get_object(self, **kwargs):
        self.gets.append(dict(kwargs))
        kwargs.pop("Range", None)
        kwargs.pop("IfMatch", None)
        response = self._client.get_object(**kwargs)
        response.pop("ContentRange", None)
        return response


@pytest.mark.parametrize("client_class", [RecordingClient, RangeIgnoringClient])
def test_handler_in_ranges_saves_the_single_pass_analysis(s3, bucket, monkeypatch, client_class):
    from handler import lambda_handler

    rows = mixed_day(rows=3000, seed=9)
    data = csv_bytes(rows)
    s3.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=data)
    event = {"date": "2025-01-20", "bucket": bucket}

    monkeypatch.setenv(trade_parallel.WORKERS_ENV, "1")
    one = client_class(s3)
    alone = lambda_handler(event, None, client=one)["analysis"]
    assert len(one.gets) == 1

    monkeypatch.setenv(trade_parallel.WORKERS_ENV, "3")
    monkeypatch.setattr(trade_parallel, "MIN_RANGE_BYTES", len(data) // 5)
    many = client_class(s3)
    reply = lambda_handler(event, None, client=many)
    assert reply["statusCode"] == 200
    in_ranges_result = reply["analysis"]
    ranged = [get for get in many.gets if "Range" in get]
    assert len(many.gets) == 3 and len(ranged) == 2  # no second pass
    assert all(get["Range"].endswith("-") for get in ranged)
    if client_class is RecordingClient:
        assert all(get["IfMatch"] for get in ranged)
    for result in (alone, in_ranges_result):
        result.pop("generated_at")
    assert json.dumps(in_ranges_result) == json.dumps(alone)
    assert alone["malformed_rows"] == 5
    saved = json.loads(s3.get_object(Bucket=bucket, Key=reply["key"])["Body"].read())
    saved.pop("generated_at")
    assert saved == in_ranges_result


def test_handler_reads_an_object_rewritten_meanwhile_as_an_s3_error(s3, bucket, monkeypatch):
    """The ranged GETs ask for the first GET's version (If-Match): no mix of two exports."""
    from handler import lambda_handler

    data = csv_bytes(mixed_day(rows=600))
    s3.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=data)
    monkeypatch.setenv(trade_parallel.WORKERS_ENV, "2")
    monkeypatch.setattr(trade_parallel, "MIN_RANGE_BYTES", len(data) // 3)

    class Rewriting(RecordingClient):
        def get_object(self, **kwargs):
            response = super().get_object(**kwargs)
            if "Range" not in kwargs and len(self.gets) == 1:
                s3.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=data + b"\n")
            return response

    reply = lambda_handler({"date": "2025-01-20", "bucket": bucket}, None, client=Rewriting(s3))
    assert reply["statusCode"] == 502
    assert "PreconditionFailed" in reply["message"] or "412" in reply["message"]


def test_decimal_figures_survive_the_trip_back_from_a_worker():
    data = csv_bytes(
        [trade_line(n, TS, "AAPL", "buy", f"{n}.{n:04d}", n) for n in range(1, 400)]
        + [trade_line(n, TS, "MSFT", "sell", "0.000001", 10**14) for n in range(400, 420)]
    )
    result = in_ranges(data, 4)
    assert result is not None and json.dumps(result) == json.dumps(single(data))
    assert Decimal(result["tickers"]["MSFT"]["notional"]) == Decimal(20 * 10**8)
