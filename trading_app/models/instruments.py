from decimal import Decimal

from django.db import models


class Instrument(models.Model):
    """A tradable symbol. Prices on the book are integer multiples of tick_size."""

    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=128, blank=True)
    exchange = models.CharField(max_length=16, default="TSIM")
    tick_size = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0.01"))
    lot_size = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    max_position = models.PositiveBigIntegerField(null=True, blank=True)
    margin_requirement = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.25")
    )
    reference_price = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Opening reference price (used before the first trade).",
    )
    last_price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    last_trade_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol

    @property
    def mark_price(self) -> Decimal | None:
        """The price positions are valued at: the last trade, else the reference price."""
        return self.last_price if self.last_price is not None else self.reference_price
