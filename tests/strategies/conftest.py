"""Fixtures of the strategy suite: media files under tmp, fast password hashing."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def media(settings, tmp_path):
    """Charts and reports go to a directory of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def offline(monkeypatch):
    """yfinance as it behaves without a network: an empty frame (it logs and returns)."""
    import pandas as pd
    import yfinance

    calls = []

    def download(*args, **kwargs):
        calls.append((args, kwargs))
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", download)
    return calls


@pytest.fixture
def fresh_layers(settings):
    """For tests on the channel layer: a fresh layer per test (the in-memory layer's queues
    belong to one event loop) and no day-order expiry in the middle of a test."""
    from tests.realtime.gateway_helpers import reset_channel_layers

    settings.SESSION_END_UTC = ""
    reset_channel_layers()
    yield
    reset_channel_layers()
