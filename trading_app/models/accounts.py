from decimal import Decimal

from django.conf import settings
from django.db import models


class Account(models.Model):
    """A trading account: one per Django user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account"
    )
    cash = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    halted = models.BooleanField(default=False)
    halted_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.user.get_username()


class Position(models.Model):
    """Net quantity (negative = short), average cost and realized P&L per account and symbol."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="positions")
    instrument = models.ForeignKey("trading_app.Instrument", on_delete=models.PROTECT)
    qty = models.BigIntegerField(default=0)
    avg_cost = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal("0"))
    realized_pnl = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_id", "instrument__symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument"], name="uniq_position")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.instrument} {self.qty}"
