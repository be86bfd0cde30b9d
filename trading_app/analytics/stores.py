"""Where exported trade CSVs live: an S3 bucket, or a local directory laid out like one.

The local directory is the offline default: with no AWS endpoint and no AWS credentials,
`export_trades` (one process) and the analysis in `serve` (another) must see the same files, and
moto's server keeps its state in memory only. So files go to
TRADE_EXPORT_LOCAL_DIR/<bucket>/YYYY/MM/DD/trades.csv, the key layout the Lambda reads in S3.
`LocalS3Client` lets the unchanged Lambda handler read and write that directory in-process.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from botocore.exceptions import ClientError
from django.conf import settings

# S3 wants every part but the last to be at least 5 MiB; 8 MiB is boto3's own default.
PART_SIZE = 8 * 1024 * 1024
READ_CHUNK = 256 * 1024
# Parts uploading (or waiting for their turn) at once: overlap without unbounded memory.
UPLOADS_IN_FLIGHT = 2


class StoreError(Exception):
    """The store cannot be written: a missing bucket, refused credentials, an S3 failure."""


class TradeStore(Protocol):
    """What the exporter needs: a name for messages, a bucket check, a streaming write."""

    bucket: str

    def url(self, key: str) -> str: ...

    def check_bucket(self) -> None: ...

    def write(self, key: str, chunks: Iterable[bytes]) -> int: ...


def store_kind() -> str:
    """ "s3" or "local", from TRADE_EXPORT_STORE ("auto" looks for an endpoint or credentials)."""
    kind = settings.TRADE_EXPORT_STORE
    if kind in ("s3", "local"):
        return kind
    if kind != "auto":
        raise StoreError(f"TRADE_EXPORT_STORE={kind!r}: expected auto, s3 or local")
    if settings.AWS_ENDPOINT_URL:
        return "s3"
    return "s3" if _aws_credentials_found() else "local"


@lru_cache(maxsize=1)
def _aws_credentials_found() -> bool:
    """Whether boto3's credential chain finds anything (cached: the chain may probe the network)."""
    import boto3

    return boto3.Session().get_credentials() is not None


def s3_client() -> Any:
    """A boto3 S3 client from Django's settings (path-style for a custom endpoint, as moto and
    MinIO need)."""
    import boto3
    from botocore.config import Config

    endpoint = settings.AWS_ENDPOINT_URL or None
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint else {},
    )
    return boto3.client("s3", endpoint_url=endpoint, region_name=settings.AWS_REGION, config=config)


# S3's bucket naming rules: 3-63 characters of lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit. They also keep a name from leaving the local
# store's directory ("../x", "a/b").
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+\Z")


def check_bucket_name(bucket: str) -> None:
    """Raise StoreError unless `bucket` is a valid S3 bucket name."""
    if not _BUCKET_NAME.match(bucket) or ".." in bucket or _IP_ADDRESS.match(bucket):
        raise StoreError(
            f"Invalid bucket name {bucket!r}: 3-63 lowercase letters, digits, dots and hyphens, "
            "starting and ending with a letter or digit (S3's rules)"
        )


def get_store(bucket: str | None = None) -> TradeStore:
    """The configured store for `bucket` (default TRADE_EXPORT_BUCKET)."""
    bucket = settings.TRADE_EXPORT_BUCKET if bucket is None else bucket
    check_bucket_name(bucket)
    if store_kind() == "local":
        return LocalStore(Path(settings.TRADE_EXPORT_LOCAL_DIR), bucket)
    return S3Store(s3_client(), bucket)


# --- S3 ------------------------------------------------------------------------------------------

# The Lambda's trade_s3._REFUSED_CODES lists the same codes: its package cannot import the app.
_REFUSED = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "UnrecognizedClientException",
}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class S3Store:
    client: Any
    bucket: str
    part_size: int = PART_SIZE

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def check_bucket(self) -> None:
        """Fail before reading any trade: a missing bucket or refused credentials say so."""
        from botocore.exceptions import BotoCoreError, NoCredentialsError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = _error_code(exc)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                raise StoreError(
                    f"Bucket {self.bucket!r} does not exist: create it "
                    f"(aws s3 mb s3://{self.bucket}) or pass --bucket"
                ) from exc
            if code in _REFUSED:
                raise StoreError(
                    f"Access to bucket {self.bucket!r} refused ({code}): check the AWS "
                    "credentials and that they may s3:PutObject there"
                ) from exc
            raise StoreError(f"S3 error on bucket {self.bucket!r}: {exc}") from exc
        except NoCredentialsError as exc:
            raise StoreError(
                "No AWS credentials found: configure them (aws configure, or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or set TRADE_EXPORT_STORE=local"
            ) from exc
        except BotoCoreError as exc:
            raise StoreError(f"S3 unreachable for bucket {self.bucket!r}: {exc}") from exc

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Upload the stream; one PUT if it fits in one part, else a multipart upload of
        part_size parts. Parts go up from a background thread while the next one is read, so
        the database keeps streaming during an upload; at most UPLOADS_IN_FLIGHT parts wait, so
        memory holds a few parts whatever the file's size. Returns bytes."""
        from botocore.exceptions import BotoCoreError

        buffer = bytearray()
        in_flight: deque[Future] = deque()
        parts: list[dict[str, Any]] = []
        upload_id: str | None = None
        total = 0
        number = 0
        pool = ThreadPoolExecutor(max_workers=UPLOADS_IN_FLIGHT, thread_name_prefix="s3-part")
        try:
            for chunk in chunks:
                buffer += chunk
                total += len(chunk)
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key, ContentType="text/csv"
                        )["UploadId"]
                    body = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    number += 1
                    if len(in_flight) >= UPLOADS_IN_FLIGHT:
                        parts.append(in_flight.popleft().result())
                    in_flight.append(pool.submit(self._part, key, upload_id, number, body))
            if upload_id is None:
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentType="text/csv"
                )
                return total
            if buffer:
                number += 1
                in_flight.append(pool.submit(self._part, key, upload_id, number, bytes(buffer)))
            parts.extend(f.result() for f in in_flight)
            in_flight.clear()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
            return total
        except BaseException as exc:
            for future in in_flight:
                future.cancel()
            pool.shutdown(wait=True)  # no part may land after the abort below
            if upload_id is not None:  # leave no half-uploaded parts to pay for
                # The original error is the one to report, not a failed clean-up.
                with contextlib.suppress(Exception):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
            if isinstance(exc, ClientError | BotoCoreError):
                raise StoreError(f"S3 error writing {self.url(key)}: {exc}") from exc
            raise
        finally:
            pool.shutdown(wait=True)

    def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        response = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"ETag": response["ETag"], "PartNumber": number}


# --- local directory -----------------------------------------------------------------------------


@dataclass
class LocalStore:
    root: Path
    bucket: str

    def url(self, key: str) -> str:
        return str(self.root / self.bucket / key)

    def check_bucket(self) -> None:
        """The offline default makes its "bucket" directory: there is nothing to configure."""
        try:
            (self.root / self.bucket).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create {self.root / self.bucket}: {exc}") from exc

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Write to a temporary file beside the target, then rename: a reader (the analysis in
        another process) sees the old file or the new one, never half of one."""
        return _atomic_write(self.root / self.bucket / key, chunks)


def _atomic_write(path: Path, chunks: Iterable[bytes]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                total += len(chunk)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return total


class _LocalBody:
    """The part of botocore's StreamingBody the handler uses: iter_chunks."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO = path.open("rb")

    def iter_chunks(self, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        with self._file:
            while chunk := self._file.read(chunk_size):
                yield chunk


class LocalS3Client:
    """Just enough of an S3 client (get_object, put_object) over a LocalStore's directory for
    the Lambda handler run in-process. Errors are botocore ClientErrors with S3's codes, so the
    handler maps them exactly as it maps S3's."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, bucket: str, key: str, operation: str) -> Path:
        bucket_dir = self.root / bucket
        if not bucket_dir.is_dir():
            raise _client_error("NoSuchBucket", f"bucket {bucket!r} does not exist", operation)
        path = (bucket_dir / key).resolve()
        if not path.is_relative_to(bucket_dir.resolve()):
            raise _client_error("AccessDenied", f"key {key!r} outside the bucket", operation)
        return path

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        path = self._path(Bucket, Key, "GetObject")
        if not path.is_file():
            raise _client_error("NoSuchKey", f"no object {Key!r}", "GetObject")
        return {"Body": _LocalBody(path), "ContentLength": path.stat().st_size}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:  # noqa: N803
        path = self._path(Bucket, Key, "PutObject")
        _atomic_write(path, [Body])
        return {}


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def analysis_client() -> tuple[Any, str]:
    """The S3 client the in-process handler should use, and "local" or "s3" for the record."""
    if store_kind() == "local":
        return LocalS3Client(Path(settings.TRADE_EXPORT_LOCAL_DIR)), "local"
    return s3_client(), "s3"
