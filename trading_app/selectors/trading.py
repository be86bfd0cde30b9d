"""What an account may see: its own orders, trades and positions, nobody else's."""

from django.db.models import QuerySet

from trading_app.models import CLOSED_STATUSES, OPEN_STATUSES, Account, Order, Position, Trade


def orders_for(account: Account, status: str = "open") -> QuerySet[Order]:
    qs = Order.objects.filter(account=account).select_related("instrument")
    if status == "open":
        return qs.filter(status__in=OPEN_STATUSES)
    if status == "closed":
        return qs.filter(status__in=CLOSED_STATUSES)
    return qs


def trades_for(account: Account) -> QuerySet[Trade]:
    return Trade.objects.filter(account=account).select_related("instrument")


def positions_for(account: Account) -> QuerySet[Position]:
    return (
        Position.objects.filter(account=account)
        .exclude(qty=0, realized_pnl=0)
        .select_related("instrument")
    )
