import re
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from trading_app.models import Account

pytestmark = pytest.mark.django_db


def test_token_endpoint_returns_the_accounts_token_for_good_credentials(alice, make_client):
    account, token = alice
    response = make_client().post(
        "/api/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"token": token}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": "pw-alice"},
        {"username": "alice"},
        {},
    ],
)
def test_token_endpoint_refuses_bad_credentials_without_a_token(alice, make_client, body):
    response = make_client().post("/api/auth/token/", body, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/orders/"),
        ("post", "/api/orders/"),
        ("get", "/api/trades/"),
        ("post", "/api/trades/"),
        ("get", "/api/account/"),
        ("get", "/api/positions/"),
        ("get", "/api/instruments/"),
        ("post", "/api/market-data/"),
    ],
)
def test_unauthenticated_requests_get_401(instruments, make_client, method, path):
    response = getattr(make_client(), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


def test_an_unknown_token_gets_401(instruments, make_client):
    response = make_client("0" * 40).get("/api/account/")
    assert response.status_code == 401


def test_session_login_authenticates_the_browser(alice, make_client):
    client = make_client()
    assert client.login(username="alice", password="pw-alice")
    response = client.get("/api/account/")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_create_account_command_prints_a_working_token(instruments, make_client):
    out = StringIO()
    call_command("create_account", "carol", "--password", "s3cret", "--cash", "2500", stdout=out)

    printed_token = out.getvalue().strip().splitlines()[-1]
    account = Account.objects.get(user__username="carol")
    assert account.cash == Decimal("2500")
    assert Token.objects.get(user=account.user).key == printed_token

    response = make_client(printed_token).get("/api/account/")
    assert response.status_code == 200
    assert response.json()["username"] == "carol"
    assert Decimal(response.json()["cash"]) == Decimal("2500")

    login = make_client().post(
        "/api/auth/token/", {"username": "carol", "password": "s3cret"}, format="json"
    )
    assert login.json() == {"token": printed_token}


def test_create_account_command_refuses_an_existing_user(alice):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_account", "alice", "--password", "x", stdout=StringIO())


def test_create_account_command_refuses_negative_cash(db):
    with pytest.raises(CommandError, match="cash"):
        call_command("create_account", "dave", "--password", "x", "--cash", "-5", stdout=StringIO())
    assert not Account.objects.filter(user__username="dave").exists()


@pytest.mark.parametrize(
    "cash, reason",
    [("1e400", "too large"), ("1000000000000000", "too large"), ("1.12345", "4 decimal places")],
)
def test_create_account_command_refuses_cash_the_account_cannot_hold(db, cash, reason):
    """Such an amount used to be stored (as a float, on SQLite) and then break every request
    that read the account, the admin's account list included."""
    with pytest.raises(CommandError, match=f"--cash: .*{reason}"):
        call_command("create_account", "dave", "--password", "x", "--cash", cash, stdout=StringIO())
    assert not Account.objects.filter(user__username="dave").exists()
    call_command("create_account", "dave", "--password", "x", "--cash", "999999999999999.99",
                 stdout=StringIO())  # fmt: skip
    assert Account.objects.get(user__username="dave").cash > Decimal("999999999999999")


def test_bootstrap_demo_again_keeps_the_demo_accounts_as_their_trades_left_them(db, make_client):
    """`make run` runs bootstrap_demo on every start: the demo users get their passwords back,
    but cash is not reset under positions that the trades made (equity would appear from
    nowhere on each restart)."""
    call_command("bootstrap_demo", stdout=StringIO())
    demo = Account.objects.get(user__username="demo")
    demo.cash -= Decimal("1234.50")  # as a fill would
    demo.save(update_fields=["cash"])
    demo.user.set_password("changed")
    demo.user.save()
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)
    demo.refresh_from_db()
    assert demo.cash == settings.DEMO_CASH - Decimal("1234.50")
    token = re.search(r"demo token: (\w+)", out.getvalue()).group(1)
    assert Decimal(make_client(token).get("/api/account/").json()["cash"]) == demo.cash
    assert make_client().login(username="demo", password="demo")
