from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError

from trading_app.management.base import MigratedDatabaseCommand
from trading_app.services.accounts import check_cash, create_account


def _cash(value: str) -> Decimal:
    try:
        cash = Decimal(value)
    except InvalidOperation:
        raise CommandError(f"--cash must be a number, got {value!r}") from None
    if not cash.is_finite() or cash < 0:
        raise CommandError("--cash must be zero or more")
    try:
        check_cash(cash)
    except ValueError as exc:
        raise CommandError(f"--cash: {exc}") from None
    return cash


class Command(MigratedDatabaseCommand):
    help = "Create a user with its trading account and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--cash", default="100000", help="starting cash (default 100000)")
        parser.add_argument("--staff", action="store_true")
        parser.add_argument("--superuser", action="store_true")
        parser.add_argument("--reset", action="store_true", help="update the user if it exists")

    def handle(self, *args, **opts):
        try:
            account, token = create_account(
                opts["username"],
                opts["password"],
                _cash(opts["cash"]),
                staff=opts["staff"],
                superuser=opts["superuser"],
                reset=opts["reset"],
            )
        except ValueError as exc:
            raise CommandError(f"{exc} (use --reset to update it)") from None
        self.stdout.write(f"account {account.user.username} cash={account.cash} token={token}")
        self.stdout.write(token)
