"""The risk gate's in-memory picture of each account: cash, positions, open orders, limits.

Kept incrementally by the gate (orders it passes, fills and closures the worker reports) and
re-read from the database when something outside the worker changed it (see
trading_app.risk.changes), so a check is a few dictionary look-ups and Decimal operations, never
a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from trading_app.risk.limits import EffectiveLimits
from trading_app.risk.token_bucket import TokenBucket

ZERO = Decimal("0")


@dataclass(slots=True)
class InstrumentInfo:
    """What the checks need of an instrument: its mark (last trade, else reference) and limits."""

    id: int
    symbol: str
    mark: Decimal | None
    margin: Decimal
    max_position: int | None


@dataclass(slots=True)
class Exposure:
    """One account in one instrument. `gross` and `required` are this instrument's terms as they
    are currently counted in the account's totals (so a change adjusts the totals by the delta)."""

    pos: int = 0
    open_buy: int = 0
    open_sell: int = 0
    open_buy_notional: Decimal = ZERO
    gross: Decimal = ZERO
    required: Decimal = ZERO


@dataclass(slots=True)
class AccountRisk:
    account_id: int
    cash: Decimal
    limits: EffectiveLimits
    bucket: TokenBucket
    halted: str | None = None
    exposures: dict[int, Exposure] = field(default_factory=dict)
    gross: Decimal = ZERO  # sum of Exposure.gross
    committed: Decimal = ZERO  # sum of Exposure.required
    equity: Decimal = ZERO
    market_value: Decimal = ZERO
    day: date | None = None
    sod_equity: Decimal | None = None
    day_pnl: Decimal = ZERO
    loss_breached: bool = False  # day_pnl below -max_daily_loss (kept by equity.revalue)
    valued: int = -1  # the gate's marks_version when its terms and equity were last computed
    alert_levels: dict[str, int] = field(default_factory=dict)
    # instrument id -> (mark, lowest, highest) limit price the collar allows at that mark
    bands: dict[int, tuple[Decimal, Decimal, Decimal]] = field(default_factory=dict)
    # instrument id -> (volume today, the largest quantity the liquidity limit allows at it)
    caps: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.committed
