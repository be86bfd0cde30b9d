"""Fixtures for export -> S3 -> analysis: a real S3 endpoint (moto's server over HTTP), Django
settings pointed at it, and a helper that records trades.

Every test gets its own bucket and its own local-store directory, so tests never see each
other's files; the moto server is shared by the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import REGION, clear_aws_env, point_boto3_at
from tests.support.moto_server import start_moto_server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server for the session, on 127.0.0.1 and a port the OS picked."""
    endpoint, stop = start_moto_server()
    yield endpoint
    stop()


@pytest.fixture
def local_store(settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The offline default: no endpoint, no credentials, TRADE_EXPORT_STORE=auto."""
    import boto3

    from trading_app.analytics import stores

    clear_aws_env(monkeypatch, tmp_path)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    stores._aws_credentials_found.cache_clear()
    settings.TRADE_EXPORT_STORE = "auto"
    settings.AWS_ENDPOINT_URL = ""
    settings.LAMBDA_FUNCTION_NAME = ""
    settings.TRADE_EXPORT_LOCAL_DIR = tmp_path / "s3"
    settings.TRADE_EXPORT_BUCKET = "local-trades"
    yield tmp_path / "s3" / "local-trades"
    stores._aws_credentials_found.cache_clear()


@pytest.fixture
def s3(settings, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Django's settings and boto3 pointed at moto; returns a plain client for checking."""
    import boto3

    point_boto3_at(monkeypatch, tmp_path, moto_endpoint)
    # boto3's default session keeps the credentials it first found: each test starts afresh.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    settings.TRADE_EXPORT_STORE = "s3"
    settings.AWS_ENDPOINT_URL = moto_endpoint
    settings.AWS_REGION = REGION
    settings.LAMBDA_FUNCTION_NAME = ""
    settings.TRADE_EXPORT_LOCAL_DIR = tmp_path / "unused-local-store"
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture
def bucket(settings, s3: Any) -> str:
    """A fresh bucket per test, made the default one."""
    name = f"trades-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    settings.TRADE_EXPORT_BUCKET = name
    return name


@pytest.fixture
def record_trade(instruments, make_account) -> Callable[..., Any]:
    """Store one Trade row for a user (created on first use) at an aware UTC timestamp."""
    from trading_app.models import Trade

    accounts: dict[str, Any] = {}

    def record(
        user: str, ticker: str, side: str, price: str, quantity: int, at: datetime, **extra: Any
    ) -> Trade:
        if user not in accounts:
            accounts[user] = make_account(user)[0]
        return Trade.objects.create(
            account=accounts[user],
            instrument=instruments[ticker],
            ticker=ticker,
            side=side,
            price=Decimal(price),
            quantity=quantity,
            timestamp=at,
            **extra,
        )

    return record


@pytest.fixture
def api(make_account, make_client):
    """An authenticated API client."""
    _, token = make_account("analyst")
    return make_client(token)
