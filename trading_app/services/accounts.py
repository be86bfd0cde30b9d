from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from rest_framework.authtoken.models import Token

from trading_app.models import Account
from trading_app.risk.changes import note_risk_change


@transaction.atomic
def create_account(
    username: str,
    password: str,
    cash: Decimal = Decimal("0"),
    *,
    staff: bool = False,
    superuser: bool = False,
    reset: bool = False,
    ensure: bool = False,
) -> tuple[Account, str]:
    """Create a user with its trading account; return its token.

    An existing user is an error, unless ``reset`` (password, flags and cash set again: for
    benchmarks that want a known state) or ``ensure`` (password and flags set again, the account
    left as its trades made it: for the demo users, whose cash must keep matching their
    positions across restarts)."""
    check_cash(cash)
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None and not (reset or ensure):
        raise ValueError(f"user {username!r} already exists")
    if user is None:
        user = User(username=username)
    user.is_staff = staff or superuser
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    account, created = Account.objects.get_or_create(user=user, defaults={"cash": cash})
    if not created and reset:
        account.cash = cash
        account.save(update_fields=["cash"])
        note_risk_change([account.pk])
    token, _ = Token.objects.get_or_create(user=user)
    return account, token.key


# Below the column's 10**16: SQLite keeps decimals as floats, and one that rounds up to 10**16
# no longer reads back as a Decimal of 20 digits (the account then fails every request).
MAX_STARTING_CASH = Decimal(10**15)


def check_cash(cash: Decimal) -> None:
    """Raise ValueError unless `cash` is a starting balance the account's column keeps exactly.

    A larger amount is not refused by SQLite: it is stored as a float that may no longer read
    back as a Decimal, and the account then fails every request that reads it.
    """
    if not isinstance(cash, Decimal) or not cash.is_finite():
        raise ValueError(f"cash must be a finite decimal amount, got {cash!r}")
    if abs(cash) >= MAX_STARTING_CASH:
        raise ValueError(f"cash {cash} is too large: it must be below {MAX_STARTING_CASH:,}")
    try:
        Account._meta.get_field("cash").run_validators(cash)
    except ValidationError as exc:
        raise ValueError(f"cash {cash}: {' '.join(exc.messages)}") from None


def account_for_user(user) -> Account:
    """The user's account, created empty on first use (e.g. a superuser made by createsuperuser)."""
    account, _ = Account.objects.get_or_create(user=user)
    return account


@transaction.atomic
def adjust_cash(account_id: int, amount: Decimal) -> Decimal:
    """Add `amount` (negative: take it) to an account's cash and return the new balance.

    A delta in SQL, never a balance written back: the matching worker moves cash with every
    fill, and a balance read earlier (an admin form left open) would undo those fills.
    """
    Account.objects.filter(pk=account_id).update(cash=F("cash") + amount)
    note_risk_change([account_id])  # the risk gate re-reads the account next batch
    return Account.objects.values_list("cash", flat=True).get(pk=account_id)
