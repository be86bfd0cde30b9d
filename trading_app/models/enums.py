"""The vocabularies of orders and trades, shaped like Alpaca's trading API."""

from django.db import models


class Side(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class OrderType(models.TextChoices):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(models.TextChoices):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(models.TextChoices):
    ACCEPTED = "accepted"  # durable, not yet applied by the matching worker
    NEW = "new"  # live in the book (or a pending stop)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


OPEN_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
CLOSED_STATUSES = (
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.EXPIRED,
    OrderStatus.REJECTED,
)


class TradeSource(models.TextChoices):
    EXCHANGE = "exchange"  # a fill from the matching engine: read-only
    MANUAL = "manual"  # entered through the API (003's POST /api/trades/)


class Liquidity(models.TextChoices):
    MAKER = "maker"
    TAKER = "taker"
