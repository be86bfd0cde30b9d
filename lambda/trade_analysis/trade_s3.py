"""S3 access for the analysis: where the files are, streaming the CSV in, writing the JSON out.

The client honours AWS_ENDPOINT_URL, so the same code runs against AWS, moto's server or MinIO.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from trade_lines import CHUNK_SIZE

_MISSING_KEY_CODES = {"NoSuchKey", "404", "NotFound"}
# S3 refusing the request: the policy, or credentials it does not accept (a key it does not
# know, a wrong secret, an expired session).
_REFUSED_CODES = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}


class TradesNotFound(LookupError):
    """No trade CSV at the expected key."""


class BucketNotFound(LookupError):
    """The bucket does not exist."""


class AccessDenied(PermissionError):
    """S3 refused; without s3:ListBucket, S3 also answers a missing key this way."""


def trades_key(day: date) -> str:
    """Key written by `manage.py export_trades`: YYYY/MM/DD/trades.csv."""
    return f"{day:%Y/%m/%d}/trades.csv"


def analysis_key(day: date) -> str:
    return f"analysis/{day:%Y/%m/%d}/analysis.json"


def s3_client() -> Any:
    """A client for the current environment (cached per endpoint and region: creating one
    costs tens of milliseconds, and a warm Lambda reuses it)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _client(endpoint, region)


@lru_cache(maxsize=8)
def _client(endpoint: str | None, region: str) -> Any:
    # Path-style addressing for custom endpoints: MinIO and moto serve buckets under the path,
    # and an IP-address endpoint cannot do virtual-hosted buckets at all.
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else {},
    )
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


@dataclass
class S3Object:
    """An open GET: the streaming body, and what the response said about the whole object."""

    body: Any  # botocore's StreamingBody, or anything with iter_chunks(size)
    size: int | None  # bytes in the object (ContentLength); None if the client did not say
    etag: str | None

    def chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        return self.body.iter_chunks(chunk_size)


def open_object(client: Any, bucket: str, key: str) -> S3Object:
    """Start a GET of the whole object; nothing of the body is read yet.

    Errors that S3 reports up front (missing key or bucket, access) are raised here, before any
    byte is consumed, as TradesNotFound, BucketNotFound or AccessDenied.
    """
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise BucketNotFound(bucket) from exc
        if code in _MISSING_KEY_CODES:
            raise TradesNotFound(key) from exc
        if code in _REFUSED_CODES:
            raise AccessDenied(f"s3://{bucket}/{key} ({code})") from exc
        raise
    size = response.get("ContentLength")
    return S3Object(response["Body"], size if isinstance(size, int) else None, response.get("ETag"))


def open_chunks(
    client: Any, bucket: str, key: str, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Start a GET and return an iterator over the body in chunks; never reads it all at once.

    Raises as open_object does.
    """
    return open_object(client, bucket, key).chunks(chunk_size)


def open_from(
    client: Any, bucket: str, key: str, start: int, etag: str | None = None
) -> tuple[Any, int]:
    """Start a ranged GET from byte `start` to the end; return (body, offset of its first byte).

    With `etag` the GET asks for that version (If-Match): an object rewritten meanwhile fails
    with PreconditionFailed rather than mixing two exports. A client that ignores Range (the
    app's local-directory stand-in) returns the whole body: the offset is then 0.
    """
    extra = {"IfMatch": etag} if etag else {}
    response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-", **extra)
    served = str(response.get("ContentRange") or "")
    return response["Body"], start if served.startswith(f"bytes {start}-") else 0


def save_json(client: Any, bucket: str, key: str, document: dict[str, Any]) -> int:
    """Write the analysis as compact UTF-8 JSON; return its size in bytes."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return len(body)
