"""Fixtures shared by the whole suite: demo instruments, accounts with tokens, API clients."""

from decimal import Decimal

import pytest


def pytest_configure(config):
    """Password hashing at production strength costs ~0.5 s per user; tests need none of it."""
    from django.conf import settings

    if not settings.configured and not config.pluginmanager.hasplugin("django"):
        return  # pure-Python suites (engine, lambda, strategies) run without Django
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No test reaches real AWS by accident (the API fuzz test calls /api/trade-analysis/): trade
    # exports use the local-directory store unless a test points them at a moto server.
    settings.TRADE_EXPORT_STORE = "local"
    settings.LAMBDA_FUNCTION_NAME = ""


@pytest.fixture
def instruments(db):
    from trading_app.selectors.instruments import invalidate_instrument_cache
    from trading_app.services.instruments import load_demo_instruments

    load_demo_instruments()
    invalidate_instrument_cache()
    from trading_app.models import Instrument

    return {i.symbol: i for i in Instrument.objects.all()}


@pytest.fixture
def make_account(db):
    from trading_app.services.accounts import create_account

    def make(username: str, cash: str = "1000000", **kwargs):
        account, token = create_account(username, "pw-" + username, Decimal(cash), **kwargs)
        return account, token

    return make


@pytest.fixture
def make_client():
    from rest_framework.test import APIClient

    def make(token: str | None = None) -> APIClient:
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


@pytest.fixture
def alice(make_account, instruments):
    return make_account("alice")


@pytest.fixture
def bob(make_account, instruments):
    return make_account("bob")


@pytest.fixture
def alice_client(alice, make_client):
    return make_client(alice[1])


@pytest.fixture
def bob_client(bob, make_client):
    return make_client(bob[1])


@pytest.fixture
def fresh_layers(settings):
    """For tests on the channel layer: a fresh layer per test (the in-memory layer's queues
    belong to one event loop) and no day-order expiry in the middle of a test."""
    from tests.realtime.gateway_helpers import reset_channel_layers

    settings.SESSION_END_UTC = ""
    reset_channel_layers()
    yield
    reset_channel_layers()


@pytest.fixture
async def closed_connections():
    """After an async test: close the connection the ORM opened in sync_to_async's thread, or
    PostgreSQL cannot drop the test database at the end of the session."""
    yield
    from tests.realtime.gateway_helpers import close_thread_connections

    await close_thread_connections()
