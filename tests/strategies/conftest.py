"""Fixtures of the strategy suite: media files under tmp, fast password hashing."""

import pytest


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
