"""An account's portfolio marked to the latest prices: P&L per instrument, exposure, equity.

Marks are each instrument's last exchange trade (committed by the matching worker every batch),
else its reference price, so P&L moves with the market as soon as a trade prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from trading_app.models import Account, EquitySnapshot, Position
from trading_app.risk.loading import day_start

ZERO = Decimal("0")
CENTS = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.quantize(CENTS), "f")


def price_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


@dataclass(frozen=True)
class Line:
    instrument_id: int
    symbol: str
    qty: int
    avg_cost: Decimal
    mark: Decimal | None
    realized: Decimal

    @property
    def market_value(self) -> Decimal:
        return self.qty * self.mark if self.mark is not None else self.qty * self.avg_cost

    @property
    def cost_basis(self) -> Decimal:
        return self.qty * self.avg_cost

    @property
    def unrealized(self) -> Decimal:
        return self.market_value - self.cost_basis


def lines(account: Account) -> list[Line]:
    """Every position with a quantity or realized P&L (closed positions keep their P&L)."""
    rows = (
        Position.objects.filter(account=account)
        .exclude(qty=0, realized_pnl=0)
        .select_related("instrument")
        .order_by("instrument__symbol")
    )
    return [
        Line(
            p.instrument_id,
            p.instrument.symbol,
            p.qty,
            p.avg_cost,
            p.instrument.mark_price,
            p.realized_pnl,
        )
        for p in rows
    ]


def start_of_day_equity(account: Account) -> Decimal | None:
    """The daily loss limit's baseline: last snapshot before midnight UTC, else first today."""
    midnight = day_start(timezone.now())
    before = (
        EquitySnapshot.objects.filter(account=account, timestamp__lt=midnight)
        .order_by("-timestamp")
        .values_list("equity", flat=True)
        .first()
    )
    if before is not None:
        return before
    return (
        EquitySnapshot.objects.filter(account=account, timestamp__gte=midnight)
        .order_by("timestamp")
        .values_list("equity", flat=True)
        .first()
    )


def portfolio(account: Account) -> dict:
    """The GET /api/portfolio/ body (amounts as strings, like every amount in the API)."""
    items = lines(account)
    long_value = sum((x.market_value for x in items if x.qty > 0), ZERO)
    short_value = sum((x.market_value for x in items if x.qty < 0), ZERO)
    net = long_value + short_value
    gross = long_value - short_value
    realized = sum((x.realized for x in items), ZERO)
    unrealized = sum((x.unrealized for x in items), ZERO)
    equity = account.cash + net
    baseline = start_of_day_equity(account)
    return {
        "account": account.user.get_username(),
        "as_of": timezone.now().isoformat(),
        "cash": money(account.cash),
        "equity": money(equity),
        "long_market_value": money(long_value),
        "short_market_value": money(short_value),
        "gross_exposure": money(gross),
        "net_exposure": money(net),
        "realized_pnl": money(realized),
        "unrealized_pnl": money(unrealized),
        "total_pnl": money(realized + unrealized),
        "day_pnl": money(equity - baseline) if baseline is not None else None,
        "halted": account.halted,
        "halted_reason": account.halted_reason,
        "positions": [
            {
                "symbol": x.symbol,
                "side": "long" if x.qty > 0 else ("short" if x.qty < 0 else "flat"),
                "qty": x.qty,
                "avg_cost": price_text(x.avg_cost),
                "current_price": price_text(x.mark),
                "market_value": money(x.market_value),
                "cost_basis": money(x.cost_basis),
                "unrealized_pnl": money(x.unrealized),
                "realized_pnl": money(x.realized),
                "total_pnl": money(x.realized + x.unrealized),
            }
            for x in items
        ],
        "pnl_by_instrument": {
            x.symbol: {
                "realized": money(x.realized),
                "unrealized": money(x.unrealized),
                "total": money(x.realized + x.unrealized),
            }
            for x in items
        },
    }
