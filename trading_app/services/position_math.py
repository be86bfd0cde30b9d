"""Position accounting: average cost and realized P&L as fills arrive. Pure, Decimal only.

Kept free of the ORM so that the matching worker applies it in memory for a whole batch and the
manual-trade path replays it over rows, with the same arithmetic.
"""

from decimal import Decimal

ZERO = Decimal("0")
COST_QUANT = Decimal("0.000001")
PNL_QUANT = Decimal("0.0001")


def apply_fill(
    qty: int, avg_cost: Decimal, realized: Decimal, fill_qty: int, price: Decimal
) -> tuple[int, Decimal, Decimal]:
    """Return (qty, avg_cost, realized_pnl) after a signed fill (+ buys, - sells) at `price`.

    Adding to a position moves the average cost; reducing it realizes P&L against the average
    cost and leaves the average unchanged; crossing through zero opens the remainder at `price`.
    """
    if fill_qty == 0:
        return qty, avg_cost, realized
    if qty == 0 or (qty > 0) == (fill_qty > 0):
        new_qty = qty + fill_qty
        new_avg = (abs(qty) * avg_cost + abs(fill_qty) * price) / abs(new_qty)
        return new_qty, new_avg.quantize(COST_QUANT), realized
    closing = min(abs(qty), abs(fill_qty))
    direction = 1 if qty > 0 else -1
    realized = (realized + closing * (price - avg_cost) * direction).quantize(PNL_QUANT)
    new_qty = qty + fill_qty
    if new_qty == 0:
        return 0, ZERO, realized
    if (new_qty > 0) == (qty > 0):
        return new_qty, avg_cost, realized
    return new_qty, price, realized


def cash_delta(side: str, qty: int, price: Decimal) -> Decimal:
    """Cash moves opposite to the shares: a buy pays qty*price, a sell receives it."""
    notional = qty * price
    return -notional if side == "buy" else notional
