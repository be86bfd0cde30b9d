"""Account equity over time: what drawdown, equity-history VaR and the daily loss baseline read."""

from django.db import models


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
