"""The pre-trade checks, one small function each: refuse (code, message, value, limit) or None.

Pure functions of numbers the gate already holds in memory, so each costs a few Decimal
operations. Every comparison is "strictly above the limit refuses": an order exactly AT a limit
passes. The gate runs them in a fixed order and the first refusal wins.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from trading_app.risk import codes
from trading_app.risk.state import AccountRisk, Exposure

HUNDRED = Decimal(100)
CENTS = Decimal("0.01")


class Refusal(NamedTuple):
    code: str
    message: str
    value: Decimal | int
    limit: Decimal | int

    @property
    def reason(self) -> str:
        return codes.reason(self.code, self.message)


def money(value: Decimal) -> str:
    return format(value.quantize(CENTS), "f")


def pct(value: Decimal) -> str:
    return format(value.normalize(), "f")


def order_qty(qty: int, limit: int) -> Refusal | None:
    if qty > limit:
        return Refusal(
            codes.MAX_ORDER_QTY, f"quantity {qty} exceeds the limit of {limit}", qty, limit
        )
    return None


def order_notional(notional: Decimal, limit: Decimal) -> Refusal | None:
    if notional > limit:
        return Refusal(
            codes.MAX_ORDER_NOTIONAL,
            f"notional {money(notional)} exceeds the limit of {money(limit)}",
            notional,
            limit,
        )
    return None


def price_collar(
    price: Decimal, reference: Decimal, collar_pct: Decimal, what: str
) -> Refusal | None:
    """The fat-finger check: a limit price more than collar_pct% away from the reference."""
    distance = price - reference if price > reference else reference - price
    if distance * HUNDRED > collar_pct * reference:
        away = (distance * HUNDRED / reference).quantize(CENTS)
        return Refusal(
            codes.PRICE_COLLAR,
            f"limit price {money(price)} is {away}% from the {what} {money(reference)}; "
            f"the collar is {pct(collar_pct)}%",
            away,
            collar_pct,
        )
    return None


def liquidity(qty: int, volume: int, max_volume_pct: Decimal, symbol: str) -> Refusal | None:
    """An order larger than max_volume_pct% of the instrument's volume traded today."""
    if qty * HUNDRED > max_volume_pct * volume:
        allowed = int(max_volume_pct * volume / HUNDRED)
        return Refusal(
            codes.LIQUIDITY,
            f"quantity {qty} is more than {pct(max_volume_pct)}% of today's volume {volume} "
            f"in {symbol} (at most {allowed})",
            qty,
            allowed,
        )
    return None


def position(is_buy: bool, qty: int, exp: Exposure, limit: int, symbol: str) -> Refusal | None:
    """Per-instrument limit on the position the account could reach if its open orders filled."""
    if is_buy:
        worst = exp.pos + exp.open_buy + qty
        if worst > limit:
            return Refusal(
                codes.MAX_POSITION,
                f"buying {qty} {symbol} could take the long position to {worst} (position "
                f"{exp.pos}, open buy orders {exp.open_buy}); the limit is {limit}",
                worst,
                limit,
            )
        return None
    worst = exp.open_sell + qty - exp.pos
    if worst > limit:
        return Refusal(
            codes.MAX_POSITION,
            f"selling {qty} {symbol} could take the short position to {worst} (position "
            f"{exp.pos}, open sell orders {exp.open_sell}); the limit is {limit}",
            worst,
            limit,
        )
    return None


def gross_exposure(
    acct: AccountRisk, old_term: Decimal, new_term: Decimal, limit: Decimal
) -> Refusal | None:
    """Gross exposure of positions and open orders; an order that does not raise it passes."""
    if new_term > old_term:
        total = acct.gross - old_term + new_term
        if total > limit:
            return Refusal(
                codes.MAX_GROSS_EXPOSURE,
                f"gross exposure (positions and open orders) would reach {money(total)}; "
                f"the limit is {money(limit)}",
                total,
                limit,
            )
    return None


def buying_power(
    acct: AccountRisk,
    is_buy: bool,
    old_required: Decimal,
    new_required: Decimal,
    qty: int,
    symbol: str,
    margin: Decimal,
) -> Refusal | None:
    """Cash for buys (open buys included); margin for short sales. Risk-reducing orders pass."""
    delta = new_required - old_required
    if delta <= 0:
        return None
    available = acct.cash - acct.committed
    if delta <= available:
        return None
    if is_buy:
        return Refusal(
            codes.BUYING_POWER,
            f"the order needs {money(delta)} but buying power is {money(available)}",
            acct.committed + delta,
            acct.cash,
        )
    return Refusal(
        codes.SHORT_MARGIN,
        f"selling {qty} {symbol} needs {money(delta)} of short margin ({pct(margin * HUNDRED)}% of "
        f"the value sold short) but buying power is {money(available)}",
        acct.committed + delta,
        acct.cash,
    )


def rate_limit(rate: int) -> Refusal:
    """Called when the account's token bucket is empty (see token_bucket.py)."""
    return Refusal(codes.RATE_LIMIT, f"more than {rate} orders per second", rate, rate)


def daily_loss(acct: AccountRisk) -> Refusal | None:
    limit = acct.limits.max_daily_loss
    if acct.day_pnl < -limit:
        return Refusal(
            codes.DAILY_LOSS,
            f"the day's P&L {money(acct.day_pnl)} is below the limit of -{money(limit)}; "
            "the account is halted",
            -acct.day_pnl,
            limit,
        )
    return None
