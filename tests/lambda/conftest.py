"""Fixtures for the Lambda tests: the function's modules loaded by path, and a real S3 endpoint.

`lambda` is a Python keyword, so lambda/trade_analysis is put on sys.path the way the Lambda
runtime does with its package root, and its modules are imported as top-level names.
Nothing here needs Django or a database.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.moto_server import start_moto_server

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTION_ROOT = REPO_ROOT / "lambda" / "trade_analysis"
if str(FUNCTION_ROOT) not in sys.path:
    sys.path.insert(0, str(FUNCTION_ROOT))

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server for the session, on 127.0.0.1 and a port the OS picked."""
    endpoint, stop = start_moto_server()
    yield endpoint
    stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Point every boto3 client of this test at moto with dummy credentials.

    Per test (monkeypatch), so no other suite in the same session inherits these variables;
    the config/credentials files are emptied so a developer's real profile is never read.
    """
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "TRADE_EXPORT_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3(aws_env: str) -> Any:
    """A plain boto3 S3 client on the moto server, for arranging and checking objects."""
    import boto3

    return boto3.client("s3", endpoint_url=aws_env, region_name=REGION)


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh bucket per test: tests share the server but never each other's objects."""
    name = f"trades-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name
