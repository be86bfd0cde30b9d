"""Valuation of an account: positions marked to the latest price, equity, exposure."""

from dataclasses import dataclass
from decimal import Decimal

from trading_app.models import Account, Position

ZERO = Decimal("0")
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class PositionValue:
    position: Position
    current_price: Decimal | None
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pl: Decimal

    @property
    def unrealized_plpc(self) -> Decimal:
        if not self.cost_basis:
            return ZERO
        return (self.unrealized_pl / abs(self.cost_basis)).quantize(Decimal("0.000001"))


def value_position(position: Position) -> PositionValue:
    price = position.instrument.mark_price
    cost_basis = position.qty * position.avg_cost
    market_value = position.qty * price if price is not None else cost_basis
    return PositionValue(
        position=position,
        current_price=price,
        market_value=market_value.quantize(CENTS),
        cost_basis=cost_basis.quantize(CENTS),
        unrealized_pl=(market_value - cost_basis).quantize(CENTS),
    )


def account_summary(account: Account) -> dict:
    values = [
        value_position(p)
        for p in Position.objects.filter(account=account)
        .exclude(qty=0)
        .select_related("instrument")
    ]
    long_value = sum((v.market_value for v in values if v.market_value > 0), ZERO)
    short_value = sum((v.market_value for v in values if v.market_value < 0), ZERO)
    positions_value = long_value + short_value
    return {
        "cash": account.cash.quantize(CENTS),
        "positions_value": positions_value.quantize(CENTS),
        "long_market_value": long_value.quantize(CENTS),
        "short_market_value": short_value.quantize(CENTS),
        "equity": (account.cash + positions_value).quantize(CENTS),
        "unrealized_pl": sum((v.unrealized_pl for v in values), ZERO).quantize(CENTS),
    }
