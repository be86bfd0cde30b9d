"""Risk alerts: a limit's usage passed the warning level, or a limit was breached.

Each alert is logged and sent to the account's group (`account.<id>`) as
`{"type": "risk.alert", "alert": {...}}`; the WebSocket gateway forwards account-group messages to
/ws/orders/ clients and the monitor page shows them. Warnings fire once per upward crossing
(re-armed when usage drops back below the level); breaches at most once per
RISK_ALERT_REPEAT_SECONDS per account and code, so a client hammering a limit does not flood its
own stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from trading_app.groups import account_group
from trading_app.risk import config

log = logging.getLogger("tradingsim.risk")

NORMAL, WARNING, BREACH = 0, 1, 2
LEVEL_NAMES = {WARNING: "warning", BREACH: "breach"}
PCT = Decimal("0.1")


def _text(value: Decimal | int | float) -> str:
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    return str(value)


def build_alert(
    code: str, level: int, message: str, value: Decimal | int | float, limit: Decimal | int | float
) -> dict:
    """The alert as clients receive it; numbers as strings, like every amount in the API."""
    usage = Decimal(str(value)) * 100 / Decimal(str(limit)) if limit else Decimal(100)
    return {
        "code": code,
        "level": LEVEL_NAMES[level],
        "message": message,
        "usage_pct": format(usage.quantize(PCT), "f"),
        "limit": _text(limit),
        "value": _text(value),
        "timestamp": timezone.now().isoformat(),
    }


class AlertBox:
    """Decides which alerts to raise and holds them until the worker's batch has committed."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, dict]] = []
        self._last_breach: dict[tuple[int, str], float] = {}
        self.repeat = config.alert_repeat_seconds()

    def usage(
        self,
        levels: dict[str, int],
        account_id: int,
        key: str,
        code: str,
        value: Decimal | int | float,
        limit: Decimal | int | float,
        warn_at: Decimal | int | float,
        message: Callable[[], str],
    ) -> None:
        """Record a usage reading; raise a warning on crossing `warn_at` upwards, re-arm below it.

        `message` is only called when an alert is raised: readings are taken on every batch.
        """
        if value >= warn_at and limit:
            if levels.get(key, NORMAL) < WARNING:
                levels[key] = WARNING
                self._raise(account_id, build_alert(code, WARNING, message(), value, limit))
        elif levels.get(key):
            levels[key] = NORMAL

    def breach(
        self,
        account_id: int,
        code: str,
        message: str,
        value: Decimal | int | float,
        limit: Decimal | int | float,
    ) -> None:
        """A check refused an order (or a limit was found broken): alert, throttled."""
        now = time.monotonic()
        key = (account_id, code)
        last = self._last_breach.get(key)
        if last is not None and now - last < self.repeat:
            return
        self._last_breach[key] = now
        self._raise(account_id, build_alert(code, BREACH, message, value, limit))

    def _raise(self, account_id: int, alert: dict) -> None:
        log.warning(
            "risk alert account=%s code=%s level=%s usage=%s%% %s",
            account_id,
            alert["code"],
            alert["level"],
            alert["usage_pct"],
            alert["message"],
        )
        self.pending.append((account_id, alert))

    def flush(self) -> list[tuple[int, dict]]:
        """Send every pending alert to its account group; return what was sent."""
        if not self.pending:
            return []
        alerts, self.pending = self.pending, []
        publish(alerts)
        return alerts


def publish(alerts: list[tuple[int, dict]]) -> None:
    """group_send each alert; a lost alert is logged (it is in the log already), never raised."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for account_id, alert in alerts:
            await layer.group_send(
                account_group(account_id), {"type": "risk.alert", "alert": alert}
            )

    try:
        async_to_sync(send_all)()
    except Exception:
        log.exception("could not publish %d risk alert(s)", len(alerts))
