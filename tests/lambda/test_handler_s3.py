"""The handler end to end against moto's S3 server over HTTP: statuses, messages, saved JSON."""

from __future__ import annotations

import json

import pytest
from handler import lambda_handler

from tests.support.trade_csv import HEADER_LINE, trade_line

CSV = "\n".join(
    [
        HEADER_LINE,
        trade_line(1, "2025-01-20T14:30:00.000000Z", "AAPL", "buy", "150.00", 10),
        trade_line(2, "2025-01-20T15:30:00.000000Z", "AAPL", "sell", "152.00", 30),
        trade_line(3, "2025-01-20T15:31:00.000000Z", "MSFT", "buy", "400.00", 5),
        "not,a,trade",
    ]
).encode()


@pytest.fixture
def exported(s3, bucket):
    s3.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=CSV)
    return bucket


def read_json(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_analysis_saved_to_the_analysis_key(s3, exported):
    reply = lambda_handler({"date": "2025-01-20", "bucket": exported}, None)
    assert reply["statusCode"] == 200
    assert reply["message"] == "Analysis saved for 2025-01-20"
    assert reply["key"] == "analysis/2025/01/20/analysis.json"
    analysis = reply["analysis"]
    assert analysis["source"] == f"s3://{exported}/2025/01/20/trades.csv"
    assert analysis["total_trades"] == 3
    assert analysis["total_volume"] == 45
    assert analysis["total_notional"] == "8060.00"  # 1500 + 4560 + 2000
    assert analysis["tickers"]["AAPL"]["vwap"] == "151.500000"  # 6060 / 40
    assert analysis["malformed_rows"] == 1
    assert analysis["malformed_samples"] == [{"line": 5, "reason": "expected 9 columns, got 3"}]

    saved = s3.get_object(Bucket=exported, Key=reply["key"])
    assert saved["ContentType"] == "application/json"
    assert json.loads(saved["Body"].read()) == analysis
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=exported)["Contents"]]
    assert sorted(keys) == ["2025/01/20/trades.csv", "analysis/2025/01/20/analysis.json"]


def test_reply_is_json_serialisable(exported):
    reply = lambda_handler({"date": "2025-01-20", "bucket": exported}, None)
    assert json.loads(json.dumps(reply)) == reply  # what the Lambda runtime will do with it


def test_huge_analysis_is_saved_whole_but_returned_without_tickers(s3, exported, monkeypatch):
    import handler

    monkeypatch.setattr(handler, "MAX_REPLY_BYTES", 100)
    reply = lambda_handler({"date": "2025-01-20", "bucket": exported}, None)
    assert reply["statusCode"] == 200
    assert "tickers" not in reply["analysis"]
    assert reply["analysis"]["tickers_omitted"].endswith(f"read s3://{exported}/{reply['key']}")
    assert reply["analysis"]["total_trades"] == 3
    assert set(read_json(s3, exported, reply["key"])["tickers"]) == {"AAPL", "MSFT"}


def test_bucket_from_environment(s3, exported, monkeypatch):
    monkeypatch.setenv("TRADE_EXPORT_BUCKET", exported)
    reply = lambda_handler({"date": "2025-01-20"}, None)
    assert reply["statusCode"] == 200
    assert read_json(s3, exported, reply["key"])["total_trades"] == 3


def test_event_bucket_wins_over_environment(exported, monkeypatch):
    monkeypatch.setenv("TRADE_EXPORT_BUCKET", "some-other-bucket")
    assert lambda_handler({"date": "2025-01-20", "bucket": exported}, None)["statusCode"] == 200


def test_rerun_overwrites_the_analysis(s3, exported):
    lambda_handler({"date": "2025-01-20", "bucket": exported}, None)
    s3.put_object(
        Bucket=exported, Key="2025/01/20/trades.csv", Body=b"\n".join(CSV.split(b"\n")[:2])
    )
    reply = lambda_handler({"date": "2025-01-20", "bucket": exported}, None)
    assert read_json(s3, exported, reply["key"])["total_trades"] == 1


def test_missing_day_is_404_with_the_export_command(s3, exported):
    reply = lambda_handler({"date": "2025-01-21", "bucket": exported}, None)
    assert reply == {
        "statusCode": 404,
        "message": "No trades exported for 2025-01-21: run manage.py export_trades --date 2025-01-21",
    }
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=exported)["Contents"]]
    assert keys == ["2025/01/20/trades.csv"]  # nothing written


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "Missing 'date': expected YYYY-MM-DD"),
        ({"date": ""}, "Missing 'date': expected YYYY-MM-DD"),
        ({"date": "20250120"}, "Invalid date '20250120': expected YYYY-MM-DD"),
        ({"date": "2025-1-20"}, "Invalid date '2025-1-20': expected YYYY-MM-DD"),
        ({"date": "2025-02-30"}, "Invalid date '2025-02-30': no such day"),
        (
            {"date": "2025-01-20T00:00:00"},
            "Invalid date '2025-01-20T00:00:00': expected YYYY-MM-DD",
        ),
        ({"date": 20250120}, "Invalid date 20250120: expected YYYY-MM-DD"),
        ({"date": "../../etc"}, "Invalid date '../../etc': expected YYYY-MM-DD"),
    ],
)
def test_bad_date_is_400(exported, event, message):
    assert lambda_handler({**event, "bucket": exported}, None) == {
        "statusCode": 400,
        "message": message,
    }


def test_bucket_must_be_a_name(aws_env):
    reply = lambda_handler({"date": "2025-01-20", "bucket": ["b"]}, None)
    assert reply == {"statusCode": 400, "message": "Invalid bucket ['b']: expected a bucket name"}


def test_not_an_event_is_400():
    assert lambda_handler(None, None)["statusCode"] == 400
    assert lambda_handler(["2025-01-20"], None)["statusCode"] == 400


def test_no_bucket_is_404(aws_env):
    reply = lambda_handler({"date": "2025-01-20"}, None)
    assert reply == {
        "statusCode": 404,
        "message": "No bucket: pass 'bucket' in the event or set TRADE_EXPORT_BUCKET",
    }


def test_unknown_bucket_is_404(aws_env):
    reply = lambda_handler({"date": "2025-01-20", "bucket": "no-such-bucket-here"}, None)
    assert reply == {"statusCode": 404, "message": "Bucket 'no-such-bucket-here' does not exist"}


def test_not_a_trade_csv_is_422(s3, bucket):
    s3.put_object(Bucket=bucket, Key="2025/01/20/trades.csv", Body=b"date,close\n2025-01-20,1\n")
    reply = lambda_handler({"date": "2025-01-20", "bucket": bucket}, None)
    assert reply["statusCode"] == 422
    assert reply["message"].startswith(f"s3://{bucket}/2025/01/20/trades.csv is not a trade CSV")


def test_credentials_s3_does_not_accept_are_a_403_that_says_so():
    """A server that checks credentials as AWS does (moto with authentication on)."""
    import boto3

    from tests.support.moto_server import start_moto_server_process

    endpoint, stop = start_moto_server_process(authenticate=True)
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIAUNKNOWNKEY000000",
            aws_secret_access_key="not-a-real-secret",
        )
        reply = lambda_handler({"date": "2025-01-20", "bucket": "any-bucket"}, None, client=client)
    finally:
        stop()
    assert reply["statusCode"] == 403
    assert reply["message"].startswith(
        "Access denied to s3://any-bucket/2025/01/20/trades.csv (InvalidAccessKeyId): "
        "the credentials must be valid"
    )
