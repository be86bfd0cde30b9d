"""Account equity over time: what drawdown, equity-history VaR and the daily loss baseline read."""

from django.db import models
from django.db.models.functions import Now


class EquitySnapshot(models.Model):
    """An account's value at one moment, marked to the latest prices.

    Written in bulk by the matching worker (shard 0) every RISK_SNAPSHOT_SECONDS for the accounts
    it tracks, and once when it first sees an account on a new day (the daily-loss baseline).
    """

    account = models.ForeignKey(
        "trading_app.Account", on_delete=models.CASCADE, related_name="equity_snapshots"
    )
    timestamp = models.DateTimeField()
    cash = models.DecimalField(max_digits=20, decimal_places=4)
    market_value = models.DecimalField(
        max_digits=20, decimal_places=4, help_text="Net value of the positions (shorts negative)."
    )
    gross_exposure = models.DecimalField(max_digits=20, decimal_places=4)
    equity = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        ordering = ["account_id", "timestamp"]
        indexes = [models.Index(fields=["account", "timestamp"], name="equity_account_time")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.timestamp:%Y-%m-%d %H:%M} {self.equity}"


class RiskChange(models.Model):
    """A change the matching workers' risk gates pick up on their next batch.

    The gates keep cash, positions, limits and halts in memory (the worker writes cash and
    positions itself), and read this table once per batch instead of re-reading every account.
    Rows come from database triggers (migration 0006: any insert, update or delete of a
    RiskLimits row, an Account's halted/halted_reason, the ExchangeStatus row: so the API, the
    admin and a bare queryset.update() all reach the gate) and from the services that move cash
    or positions outside the worker (manual trades, account resets: `note_risk_change`).
    `account_id` NULL means "re-read everything" (the exchange status changed). Shard 0 deletes
    rows older than an hour.
    """

    id = models.BigAutoField(primary_key=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"{self.id} account {self.account_id}"
