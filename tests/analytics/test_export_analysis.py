"""export_trades -> S3 (moto's server over HTTP) -> GET /api/trade-analysis/, end to end.

The expected figures are computed here, independently, from the trades the test recorded, in
Decimal; the code under test only ever sees the database and the S3 endpoint.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support.moto_server import start_moto_server_process
from trading_app.models import Order, TradeAnalysis

pytestmark = pytest.mark.django_db(transaction=False)

DAY = date(2025, 1, 20)
ROOT = Path(__file__).resolve().parents[2]
HEADER = "trade_id,timestamp,ticker,side,price,quantity,account,order_id,source"


def at(hour: int, minute: int = 0, second: int = 0, micro: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)


# (user, ticker, side, price, quantity, timestamp): AAPL and MSFT trade over two hours, one
# price needs 4 decimals, one is whole; the neighbouring days' trades must be left out.
DAY_TRADES = [
    ("alice", "AAPL", "buy", "150.10", 100, at(14, 0, 0, 0)),
    ("bob", "AAPL", "sell", "150.10", 100, at(14, 0, 0, 0)),  # same instant: id breaks the tie
    ("alice", "MSFT", "sell", "420", 7, at(14, 30, 5, 123456)),
    ("carol", "AAPL", "sell", "151.5", 200, at(14, 45, 10, 500000)),
    ("bob", "MSFT", "buy", "419.9925", 13, at(15, 1, 0, 1)),
    ("carol", "AAPL", "buy", "149.25", 60, at(15, 5, 0, 0)),
    ("alice", "AAPL", "sell", "149.75", 100, at(23, 59, 59, 999999)),
]
OTHER_DAYS = [
    ("alice", "AAPL", "buy", "1.00", 1, at(23, 59, 59, 999999, day=DAY - timedelta(days=1))),
    ("bob", "MSFT", "sell", "2.00", 2, at(0, 0, 0, 0, day=DAY + timedelta(days=1))),
]


def record_all(record_trade) -> list:
    return [record_trade(*row) for row in [*OTHER_DAYS, *DAY_TRADES]]


def expected_figures(rows) -> dict:
    """The analysis of DAY_TRADES, computed the plain way."""
    tickers: dict[str, dict] = {}
    for _user, ticker, side, price, qty, ts in sorted(rows, key=lambda r: r[5]):
        t = tickers.setdefault(
            ticker,
            {"trades": 0, "volume": 0, "notional": Decimal(0), "prices": [], "buy": 0, "sell": 0,
             "hours": defaultdict(int)},
        )  # fmt: skip
        t["trades"] += 1
        t["volume"] += qty
        t["notional"] += Decimal(price) * qty
        t["prices"].append(Decimal(price))
        t[side] += qty
        t["hours"][f"{ts.hour:02d}"] += qty
    for t in tickers.values():
        t["vwap"] = (t["notional"] / t["volume"]).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
    return tickers


SOON = datetime.now(UTC).date() + timedelta(days=2)


def export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_trades", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_round_trip_export_then_analysis_matches_independent_figures(s3, bucket, record_trade, api):
    trades = record_all(record_trade)
    order = Order.objects.create(
        account=trades[2].account,
        instrument=trades[2].instrument,
        client_order_id="o-1",
        side="buy",
        type="limit",
        time_in_force="day",
        qty=100,
        limit_price=Decimal("150.10"),
    )
    first = trades[2]  # alice's 150.10 buy, first in the day
    first.order, first.source = order, "exchange"
    first.save()

    out, err = export("--date", "2025-01-20")

    key = "2025/01/20/trades.csv"
    assert f"wrote s3://{bucket}/{key} (7 rows" in out
    assert out.strip().splitlines()[-1].startswith("export_trades: 1 file(s), 7 rows")
    assert "exporting 1 day(s)" in err
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    ids = [t.id for t in trades[2:]]
    assert text.splitlines() == [
        HEADER,
        f"{ids[0]},2025-01-20T14:00:00.000000Z,AAPL,buy,150.10,100,alice,{order.id},exchange",
        f"{ids[1]},2025-01-20T14:00:00.000000Z,AAPL,sell,150.10,100,bob,,manual",
        f"{ids[2]},2025-01-20T14:30:05.123456Z,MSFT,sell,420.00,7,alice,,manual",
        f"{ids[3]},2025-01-20T14:45:10.500000Z,AAPL,sell,151.50,200,carol,,manual",
        f"{ids[4]},2025-01-20T15:01:00.000001Z,MSFT,buy,419.9925,13,bob,,manual",
        f"{ids[5]},2025-01-20T15:05:00.000000Z,AAPL,buy,149.25,60,carol,,manual",
        f"{ids[6]},2025-01-20T23:59:59.999999Z,AAPL,sell,149.75,100,alice,,manual",
    ]
    assert text.endswith("\n")

    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})

    assert response.status_code == 200, response.content
    reply = response.json()
    assert reply["statusCode"] == 200
    assert reply["message"] == "Analysis saved for 2025-01-20"
    assert reply["key"] == "analysis/2025/01/20/analysis.json"
    analysis = reply["analysis"]
    want = expected_figures(DAY_TRADES)
    assert analysis["source"] == f"s3://{bucket}/{key}"
    assert analysis["total_trades"] == 7 == analysis["rows_read"]
    assert analysis["malformed_rows"] == 0
    assert analysis["total_volume"] == sum(t["volume"] for t in want.values())
    assert Decimal(analysis["total_notional"]) == sum(t["notional"] for t in want.values())
    assert [m["ticker"] for m in analysis["most_traded"]] == ["AAPL", "MSFT"]
    for ticker, t in want.items():
        got = analysis["tickers"][ticker]
        assert got["trades"] == t["trades"]
        assert got["volume"] == t["volume"]
        assert Decimal(got["notional"]) == t["notional"]
        assert Decimal(got["vwap"]) == t["vwap"]
        assert Decimal(got["open"]) == t["prices"][0]
        assert Decimal(got["close"]) == t["prices"][-1]
        assert Decimal(got["high"]) == max(t["prices"])
        assert Decimal(got["low"]) == min(t["prices"])
        assert (got["buy_volume"], got["sell_volume"]) == (t["buy"], t["sell"])
        assert {h: v for h, v in got["volume_by_hour"].items() if v} == dict(t["hours"])
    assert Decimal(analysis["tickers"]["MSFT"]["vwap"]) == Decimal(
        "419.995125"
    )  # (420*7 + 419.9925*13) / 20

    saved = TradeAnalysis.objects.get(date=DAY, bucket=bucket)
    assert saved.status_code == 200 and saved.invoked_via == "in-process:s3"
    assert saved.result["tickers"]["AAPL"]["volume"] == 560
    assert s3.head_object(Bucket=bucket, Key=reply["key"])["ContentLength"] > 0

    again = api.get("/api/trade-analysis/", {"date": "2025-01-20"})
    assert again.status_code == 200
    assert TradeAnalysis.objects.filter(date=DAY, bucket=bucket).count() == 1


def test_same_day_exported_twice_is_byte_identical(s3, bucket, record_trade):
    record_all(record_trade)
    export("--date", "2025-01-20")
    first = s3.get_object(Bucket=bucket, Key="2025/01/20/trades.csv")["Body"].read()
    record_trade("dave", "GOOG", "buy", "170.00", 5, at(12, day=DAY + timedelta(days=2)))
    export("--start", "2025-01-19", "--end", "2025-01-20")
    second = s3.get_object(Bucket=bucket, Key="2025/01/20/trades.csv")["Body"].read()
    assert first == second
    assert len(first.splitlines()) == 1 + len(DAY_TRADES)


def test_day_without_trades_says_so_and_writes_nothing(s3, bucket, record_trade):
    record_all(record_trade)
    out, _ = export("--date", "2025-01-22")
    assert "2025-01-22: no trades, nothing written" in out
    assert "export_trades: 0 file(s), 0 rows, 0 bytes; 1 day(s) without trades" in out
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def export_cli(tmp_path: Path, endpoint: str, bucket: str, **env: str):
    """`manage.py export_trades` in a child process: exit status and output as a user sees them."""
    env = {
        **os.environ,
        "TRADE_EXPORT_STORE": "s3",
        "AWS_ENDPOINT_URL": endpoint,
        "TRADINGSIM_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    env.pop("DATABASE_URL", None)  # the command fails before it needs any database
    return subprocess.run(
        [sys.executable, "manage.py", "export_trades", "--date", "2025-01-20", "--bucket", bucket],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_missing_bucket_exits_non_zero_with_a_clear_message(s3, moto_endpoint, tmp_path):
    result = export_cli(tmp_path, moto_endpoint, "no-such-bucket")
    assert result.returncode != 0
    assert "Bucket 'no-such-bucket' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def refusing_s3() -> Iterator[str]:
    """A moto server that checks credentials as AWS does: ours are unknown to it."""
    endpoint, stop = start_moto_server_process(authenticate=True)
    yield endpoint
    stop()


def test_refused_credentials_exit_non_zero_with_a_clear_message(refusing_s3, tmp_path):
    """Against a server that refuses the access key (403)."""
    result = export_cli(
        tmp_path,
        refusing_s3,
        "refused-bucket",
        AWS_ACCESS_KEY_ID="AKIAUNKNOWNKEY000000",
        AWS_SECRET_ACCESS_KEY="not-a-real-secret",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    assert result.returncode == 1, result.stderr
    assert "Access to bucket 'refused-bucket' refused (403)" in result.stderr
    assert "check the AWS credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_refused_credentials_make_the_analysis_a_502(refusing_s3, settings, api, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    settings.TRADE_EXPORT_STORE = "s3"
    settings.AWS_ENDPOINT_URL = refusing_s3
    settings.LAMBDA_FUNCTION_NAME = ""
    settings.TRADE_EXPORT_BUCKET = "refused-bucket"
    response = api.get("/api/trade-analysis/?date=2025-01-20")
    assert response.status_code == 502, response.content
    assert (
        "refused" in response.json()["message"].lower() or "denied" in str(response.json()).lower()
    )


def test_no_aws_credentials_is_a_clear_error(s3, bucket, monkeypatch):
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a process started without them
    with pytest.raises(CommandError, match="No AWS credentials found"):
        export("--date", "2025-01-20")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2025-02-30"], "Invalid date '2025-02-30'"),
        (["--start", "2025-01-20"], "--start and --end go together"),
        (["--start", "2025-01-20", "--end", "2025-01-19"], "is before --start"),
        (["--date", "2025-01-20", "--start", "2025-01-20"], "not both"),
        (["--date", "2099-01-01"], "2099-01-01 is in the future"),
        (
            ["--start", str(SOON - timedelta(days=5)), "--end", str(SOON)],
            f"{SOON} is in the future",
        ),
        (
            ["--date", "2025-01-20", "--bucket", "../../escaped"],
            "Invalid bucket name '../../escaped'",
        ),
        (["--date", "2025-01-20", "--bucket", "bad/../bucket"], "Invalid bucket name"),
        (["--date", "2025-01-20", "--bucket", "My_Bucket!!"], "Invalid bucket name"),
        (["--date", "2025-01-20", "--bucket", ""], "Invalid bucket name ''"),
        (["--date", "2025-01-20", "--bucket", "192.168.0.1"], "Invalid bucket name"),
        (["--date", "2025-01-20", "--bucket", "a..b"], "Invalid bucket name"),
    ],
)
def test_bad_arguments_are_command_errors(local_store, args, message):
    with pytest.raises(CommandError, match=message):
        export(*args)


@pytest.mark.parametrize(
    "query, reason",
    [
        ({}, "required"),
        ({"date": ""}, "required"),
        ({"date": "2025-1-20"}, "expected YYYY-MM-DD"),
        ({"date": "20250120"}, "expected YYYY-MM-DD"),
        ({"date": "2025-02-30"}, "no such day"),
        ({"date": "２０２５-01-20"}, "expected YYYY-MM-DD"),
        ({"date": "2999-01-01"}, "in the future"),
        ({"date": (datetime.now(UTC) + timedelta(days=1)).date().isoformat()}, "in the future"),
    ],
)
def test_bad_or_future_date_is_a_400_naming_date(local_store, api, query, reason):
    response = api.get("/api/trade-analysis/", query)
    assert response.status_code == 400, response.content
    assert reason in response.json()["date"][0]
    assert not TradeAnalysis.objects.exists()


def test_day_without_export_is_a_404_that_says_to_run_export_trades(s3, bucket, api):
    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "No trades exported for 2025-01-20: run manage.py export_trades --date 2025-01-20",
    }
    assert not TradeAnalysis.objects.exists()


def test_analysis_needs_authentication(local_store, make_client):
    assert make_client().get("/api/trade-analysis/", {"date": "2025-01-20"}).status_code == 401


def test_offline_default_is_a_local_directory_read_by_the_in_process_function(
    local_store, record_trade, api
):
    from trading_app.analytics.stores import store_kind

    record_all(record_trade)
    assert store_kind() == "local"

    out, _ = export("--date", "2025-01-20")

    path = local_store / "2025" / "01" / "20" / "trades.csv"
    assert f"wrote {path} (7 rows" in out
    assert path.read_text().splitlines()[0] == HEADER
    assert [p.name for p in path.parent.iterdir()] == ["trades.csv"]  # no temporary left over
    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})
    assert response.status_code == 200, response.content
    assert response.json()["analysis"]["total_volume"] == 580
    assert (local_store / "analysis" / "2025" / "01" / "20" / "analysis.json").is_file()
    assert TradeAnalysis.objects.get(date=DAY).invoked_via == "in-process:local"
    missing = api.get("/api/trade-analysis/", {"date": "2025-01-21"})
    assert missing.status_code == 404
    assert "run manage.py export_trades --date 2025-01-21" in missing.json()["message"]


def test_auto_store_is_s3_when_an_endpoint_is_configured(s3, settings):
    from trading_app.analytics.stores import store_kind

    settings.TRADE_EXPORT_STORE = "auto"
    assert store_kind() == "s3"
