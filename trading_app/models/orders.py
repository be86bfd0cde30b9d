import uuid

from django.db import models

from trading_app.models.enums import (
    OPEN_STATUSES,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradeSource,
)


class Order(models.Model):
    """An order as the client sees it (Alpaca's shape).

    `seq` is the matching worker's total order of arrival: NULL while the order is only
    "accepted" (durable but not yet applied), then fixed forever. It doubles as the engine's
    integer order id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database constraint on the hot foreign keys (orders, trades): the matching worker, their
    # single writer, checks accounts and instruments itself, and PostgreSQL's deferred FK
    # triggers cost ~40% of a batch's commit. on_delete still applies (Django's collector).
    # Their single-column indexes are covered by the composite indexes below.
    account = models.ForeignKey(
        "trading_app.Account",
        on_delete=models.CASCADE,
        related_name="orders",
        db_constraint=False,
        db_index=False,
    )
    instrument = models.ForeignKey(
        "trading_app.Instrument", on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    client_order_id = models.CharField(max_length=64)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=10, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices)
    qty = models.PositiveBigIntegerField()
    limit_price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.ACCEPTED
    )
    filled_qty = models.PositiveBigIntegerField(default=0)
    filled_avg_price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    reject_reason = models.CharField(max_length=255, blank=True)
    cancel_requested = models.BooleanField(default=False)
    origin = models.CharField(max_length=16, default="rest")
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    # Time priority in the book: the seq of arrival, renewed when a replace loses priority or a
    # stop triggers. Recovery restores resting orders in this order.
    priority = models.BigIntegerField(null=True, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="uniq_client_order_id_per_account"
            )
        ]
        # Every index is written on each insert and (status changes: non-HOT) each update by the
        # worker, so only what a query needs: the API's lists (account + status / created_at),
        # the dashboard (created_at), and two partial indexes for the worker, which only hold
        # the few rows in those states: the accepted-order scan and recovery of resting orders.
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["account", "created_at"]),
            models.Index(
                fields=["created_at", "id"],
                name="order_accepted_idx",
                condition=models.Q(status="accepted"),
            ),
            models.Index(
                fields=["priority", "seq"],
                name="order_resting_idx",
                condition=models.Q(status__in=["new", "partially_filled"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.instrument_id} {self.type} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def symbol(self) -> str:
        return self.instrument.symbol


class Trade(models.Model):
    """One account's side of an execution (003's trade record).

    An execution between two accounts is two rows sharing `execution_id`. Exchange fills are the
    record of what happened and are read-only; manual rows are the user's own bookkeeping.
    """

    account = models.ForeignKey(
        "trading_app.Account",
        on_delete=models.CASCADE,
        related_name="trades",
        db_constraint=False,
        db_index=False,
    )
    instrument = models.ForeignKey(
        "trading_app.Instrument", on_delete=models.PROTECT, db_constraint=False, db_index=False
    )
    ticker = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = models.DecimalField(max_digits=20, decimal_places=6)
    quantity = models.PositiveBigIntegerField()
    timestamp = models.DateTimeField()
    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="trades",
        db_constraint=False,
    )
    source = models.CharField(max_length=8, choices=TradeSource.choices, default=TradeSource.MANUAL)
    execution_id = models.BigIntegerField(null=True, blank=True)
    liquidity = models.CharField(max_length=5, choices=Liquidity.choices, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        # account + timestamp: the API's list; timestamp: export, volume, dashboard;
        # execution_id: the worker's recovery (max); order_id (the FK's own index): the filter.
        indexes = [
            models.Index(fields=["account", "timestamp"]),
            models.Index(fields=["timestamp"]),
            models.Index(fields=["execution_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.ticker} @ {self.price}"

    @property
    def is_exchange_fill(self) -> bool:
        return self.source == TradeSource.EXCHANGE
