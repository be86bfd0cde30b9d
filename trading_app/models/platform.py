"""Records of the platform's other parts: analyses, backtests, risk limits, the exchange switch."""

from django.conf import settings
from django.db import models


class TradeAnalysis(models.Model):
    """The Lambda trade analysis of one exported day (003's component 3)."""

    date = models.DateField()
    bucket = models.CharField(max_length=255)
    key = models.CharField(max_length=512, blank=True)
    status_code = models.PositiveSmallIntegerField()
    message = models.CharField(max_length=512)
    result = models.JSONField(default=dict, blank=True)
    invoked_via = models.CharField(max_length=16, default="local")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        verbose_name_plural = "trade analyses"
        constraints = [
            models.UniqueConstraint(fields=["date", "bucket"], name="uniq_analysis_per_day")
        ]

    def __str__(self) -> str:
        return f"analysis {self.date} ({self.status_code})"


class BacktestRun(models.Model):
    """A backtest asked for through the API or the command line, with its results."""

    STATUSES = [("running", "running"), ("done", "done"), ("failed", "failed")]

    strategy = models.CharField(max_length=64)
    symbol = models.CharField(max_length=16)
    params = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=STATUSES, default="running")
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    trades = models.JSONField(default=list, blank=True)
    chart = models.FileField(upload_to="backtests/", blank=True)
    report = models.FileField(upload_to="backtests/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.strategy} {self.symbol} ({self.status})"


class RiskLimits(models.Model):
    """Per-account overrides of settings.RISK_DEFAULTS; NULL means "use the default"."""

    account = models.OneToOneField(
        "trading_app.Account", on_delete=models.CASCADE, related_name="risk_limits"
    )
    max_order_qty = models.PositiveBigIntegerField(null=True, blank=True)
    max_order_notional = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    max_position_qty = models.PositiveBigIntegerField(null=True, blank=True)
    max_gross_exposure = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    price_collar_pct = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    max_orders_per_second = models.PositiveIntegerField(null=True, blank=True)
    max_volume_pct = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    max_daily_loss = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk limits"

    def __str__(self) -> str:
        return f"limits for {self.account}"


class ExchangeStatus(models.Model):
    """The exchange-wide kill switch: a single row (pk=1)."""

    halted = models.BooleanField(default=False)
    reason = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "exchange status"

    def __str__(self) -> str:
        return "halted" if self.halted else "open"

    @classmethod
    def get(cls) -> "ExchangeStatus":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
