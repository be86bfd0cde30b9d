"""Pre-trade checks run by the worker, the one path every order takes before the book.

Refreshed once per batch (one query each) rather than per order, so the checks cost
microseconds on the hot path. Reasons start with a stable code, e.g. "HALTED: ...".
"""

from __future__ import annotations

from trading_app.matching_worker.state import LiveOrder
from trading_app.models import Account, ExchangeStatus


class RiskGate:
    def __init__(self) -> None:
        self.halted_accounts: dict[int, str] = {}
        self.exchange_halted: str | None = None

    def refresh(self) -> None:
        self.halted_accounts = dict(
            Account.objects.filter(halted=True).values_list("id", "halted_reason")
        )
        status = (
            ExchangeStatus.objects.filter(pk=1, halted=True)
            .values_list("reason", flat=True)
            .first()
        )
        self.exchange_halted = (status or "trading is halted") if status is not None else None

    def check(self, order: LiveOrder) -> str | None:
        if self.exchange_halted is not None:
            return f"EXCHANGE_HALTED: {self.exchange_halted}"
        if order.account_id in self.halted_accounts:
            return f"ACCOUNT_HALTED: {self.halted_accounts[order.account_id] or 'trading is halted for this account'}"
        return None
