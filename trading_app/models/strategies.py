"""Live strategy runs: a registered strategy trading one symbol under an account."""

from decimal import Decimal

from django.db import models


class StrategyRun(models.Model):
    """One live run: how it was asked for, where it stands, and its P&L from its own fills.

    Its orders are ordinary orders of the account (origin "strategy", client_order_id
    "run<id>-<n>"), so the API, the admin and the monitor show them like any other.
    """

    STARTING, RUNNING, STOPPING, STOPPED, FAILED = (
        "starting",
        "running",
        "stopping",
        "stopped",
        "failed",
    )
    STATUSES = [(s, s) for s in (STARTING, RUNNING, STOPPING, STOPPED, FAILED)]
    ACTIVE = (STARTING, RUNNING, STOPPING)

    account = models.ForeignKey(
        "trading_app.Account", on_delete=models.CASCADE, related_name="strategy_runs"
    )
    strategy = models.CharField(max_length=64)
    symbol = models.CharField(max_length=16)
    params = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    origin = models.CharField(max_length=8, default="api", help_text="api or cli")
    status = models.CharField(max_length=8, choices=STATUSES, default=STARTING)
    error = models.TextField(blank=True)
    stop_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    bars = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    fills = models.PositiveIntegerField(default=0)
    rejects = models.PositiveIntegerField(default=0)
    last_reject = models.CharField(max_length=255, blank=True)
    position = models.BigIntegerField(default=0)
    avg_cost = models.DecimalField(max_digits=20, decimal_places=6, default=Decimal("0"))
    realized_pnl = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    unrealized_pnl = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    last_price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.strategy} {self.symbol} run {self.pk} ({self.status})"

    @property
    def client_order_prefix(self) -> str:
        return f"run{self.pk}-"

    @property
    def pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
