from django.conf import settings

from trading_app.management.base import MigratedDatabaseCommand
from trading_app.services.accounts import create_account
from trading_app.services.instruments import load_demo_instruments


class Command(MigratedDatabaseCommand):
    help = "Load the demo instruments and the demo/demo and admin/admin users (idempotent)."

    def handle(self, *args, **opts):
        created = load_demo_instruments()
        _, demo_token = create_account("demo", "demo", settings.DEMO_CASH, ensure=True)
        _, admin_token = create_account(
            "admin", "admin", settings.DEMO_CASH, superuser=True, ensure=True
        )
        self.stdout.write(f"instruments created: {created}")
        self.stdout.write(f"demo token: {demo_token}")
        self.stdout.write(f"admin token: {admin_token}")
