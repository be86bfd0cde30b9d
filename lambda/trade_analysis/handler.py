"""AWS Lambda entry point (handler.lambda_handler): analyse one day's exported trades.

Event: {"date": "YYYY-MM-DD", "bucket": "..."}; bucket defaults to $TRADE_EXPORT_BUCKET.
Reads s3://BUCKET/YYYY/MM/DD/trades.csv as a stream, writes
s3://BUCKET/analysis/YYYY/MM/DD/analysis.json and returns
{"statusCode": 200, "message": ..., "key": ..., "analysis": {...}}.
Expected failures come back as a statusCode and a message, never as an exception: 400 bad date,
404 no export for that day or no bucket, 403 access denied, 422 not a trade CSV, 502 S3 failed.
This module only maps events to calls; the work is in trade_parallel (one process, or several
for a big file), trade_stats (the analysis itself) and trade_s3.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from trade_analyzer import TradeCsvError
from trade_parallel import analyze_object
from trade_rules import parse_day
from trade_s3 import (
    AccessDenied,
    BucketNotFound,
    TradesNotFound,
    analysis_key,
    s3_client,
    save_json,
    trades_key,
)

BUCKET_ENV = "TRADE_EXPORT_BUCKET"
MAX_REPLY_BYTES = 5_000_000  # Lambda's limit on a synchronous reply is 6 MB
logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


def lambda_handler(
    event: dict[str, Any] | None, context: Any = None, *, client: Any = None
) -> dict[str, Any]:
    """Analyse the trades of event["date"] and save the result next to them in S3.

    `client` is for callers that run the function in-process (the Django app): an S3 client, or
    anything with the same get_object/put_object, built from their own configuration. The Lambda
    runtime passes only (event, context), and the client then comes from the environment.
    """
    event = event if isinstance(event, dict) else {}
    raw_date = event.get("date")
    if raw_date in (None, ""):
        return _reply(400, "Missing 'date': expected YYYY-MM-DD")
    try:
        day = parse_day(raw_date)
    except ValueError as exc:
        return _reply(400, str(exc))
    bucket = event.get("bucket") or os.environ.get(BUCKET_ENV)
    if bucket and not isinstance(bucket, str):
        return _reply(400, f"Invalid bucket {bucket!r}: expected a bucket name")
    if not bucket:
        return _reply(404, f"No bucket: pass 'bucket' in the event or set {BUCKET_ENV}")

    source_key = trades_key(day)
    client = client if client is not None else s3_client()
    started = time.perf_counter()
    try:
        analysis = analyze_object(client, bucket, source_key, day)
    except TradesNotFound:
        return _reply(
            404,
            f"No trades exported for {day}: run manage.py export_trades --date {day}",
        )
    except BucketNotFound:
        return _reply(404, f"Bucket {bucket!r} does not exist")
    except AccessDenied as exc:
        return _reply(
            403,
            f"Access denied to {exc}: the credentials must be valid and may s3:GetObject and "
            "s3:ListBucket (a Lambda's role; in-process, the app's AWS credentials)",
        )
    except TradeCsvError as exc:
        return _reply(422, f"s3://{bucket}/{source_key} is not a trade CSV: {exc}")
    except (BotoCoreError, ClientError) as exc:
        logger.exception("reading s3://%s/%s failed", bucket, source_key)
        return _reply(502, f"S3 error reading s3://{bucket}/{source_key}: {exc}")
    elapsed = time.perf_counter() - started

    result_key = analysis_key(day)
    document = {
        "source": f"s3://{bucket}/{source_key}",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        **analysis,
    }
    try:
        size = save_json(client, bucket, result_key, document)
    except (BotoCoreError, ClientError) as exc:
        logger.exception("writing s3://%s/%s failed", bucket, result_key)
        return _reply(502, f"S3 error writing s3://{bucket}/{result_key}: {exc}")
    logger.info(
        "analysed %d rows (%d malformed) of s3://%s/%s in %.3f s",
        analysis["rows_read"],
        analysis["malformed_rows"],
        bucket,
        source_key,
        elapsed,
    )
    if size > MAX_REPLY_BYTES:
        # Lambda refuses replies over 6 MB; thousands of tickers get there. The file has it all.
        document = {k: v for k, v in document.items() if k != "tickers"}
        document["tickers_omitted"] = f"{size:,}-byte analysis: read s3://{bucket}/{result_key}"
    return {
        "statusCode": 200,
        "message": f"Analysis saved for {day}",
        "key": result_key,
        "analysis": document,
    }


def _reply(status: int, message: str) -> dict[str, Any]:
    if status >= 500 or status == 403:
        logger.warning("%d %s", status, message)
    return {"statusCode": status, "message": message}
