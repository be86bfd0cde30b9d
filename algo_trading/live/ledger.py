"""Position and P&L of one symbol from real fills, in Decimal.

The backtester's ledger is float for speed; live fills come from the exchange as decimal
strings and are money the account really moved, so they are kept exactly (average-cost
accounting, like the exchange's own ``Position``).
"""

from __future__ import annotations

from decimal import Decimal

ZERO = Decimal(0)


class Ledger:
    """Signed quantity, average cost, realized P&L and the cash the fills moved."""

    __slots__ = ("avg_cost", "cash", "fills", "qty", "realized")

    def __init__(self, qty: int = 0, avg_cost: Decimal = ZERO) -> None:
        self.qty = qty
        self.avg_cost = avg_cost if qty else ZERO
        self.realized = ZERO
        self.cash = ZERO  # net cash moved by fills since the ledger started (buys negative)
        self.fills = 0

    def apply(self, signed_qty: int, price: Decimal) -> Decimal:
        """Book one fill; return the P&L it realized (0 when it only adds to the position)."""
        self.fills += 1
        self.cash -= signed_qty * price
        old = self.qty
        new = old + signed_qty
        realized = ZERO
        if old == 0 or (old > 0) == (signed_qty > 0):
            self.avg_cost = (self.avg_cost * abs(old) + price * abs(signed_qty)) / abs(new)
        else:
            closed = min(abs(signed_qty), abs(old))
            direction = 1 if old > 0 else -1
            realized = (price - self.avg_cost) * closed * direction
            if new == 0:
                self.avg_cost = ZERO
            elif (new > 0) != (old > 0):  # flipped: the remainder opens at this price
                self.avg_cost = price
        self.qty = new
        self.realized += realized
        return realized

    def unrealized(self, mark: Decimal | None) -> Decimal:
        if not self.qty or mark is None:
            return ZERO
        return (mark - self.avg_cost) * self.qty

    def pnl(self, mark: Decimal | None) -> Decimal:
        """Realized plus unrealized at ``mark``; equals cash moved + position value."""
        return self.realized + self.unrealized(mark)
