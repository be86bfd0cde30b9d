"""The kill switch: halt or resume one account or the whole exchange.

A halt is durable first (the flag in the database, which the risk gate re-reads every batch, so
orders still "accepted" are rejected too), then every matching-worker shard is told to cancel the
live orders of that scope. Resuming only clears the flag: the gate sees it on its next batch.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from matching.sharding import shard_channel
from trading_app.models import Account, ExchangeStatus
from trading_app.risk import codes

log = logging.getLogger("tradingsim.risk")

# Halts the risk checks impose (their reason is "CODE: text"), as opposed to a kill switch.
RISK_HALT_CODES = frozenset({codes.DAILY_LOSS})

DEFAULT_ACCOUNT_REASON = "trading is halted for this account"
DEFAULT_EXCHANGE_REASON = "trading is halted on the exchange"


def halt_message(account_id: int | None) -> dict:
    return {"type": "account.halt", "account_id": account_id}


def broadcast_halt(account_id: int | None, skip_shard: int | None = None) -> int:
    """Send `account.halt` to every shard's inbox (but `skip_shard`); return how many were sent.

    A shard that misses it still rejects the account's new orders (the flag); its resting orders
    would wait for the next halt message, so failures are logged loudly.
    """
    layer = get_channel_layer()
    if layer is None:
        return 0
    sent = 0
    for shard in range(max(settings.MATCHING_SHARDS, 1)):
        if shard == skip_shard:
            continue
        try:
            async_to_sync(layer.send)(shard_channel(shard), halt_message(account_id))
            sent += 1
        except Exception:
            log.exception("could not send the halt of %s to shard %s", account_id, shard)
    return sent


def halt_account(account_id: int, reason: str = "", skip_shard: int | None = None) -> None:
    """Set the account's halted flag and cancel its open orders on every shard."""
    reason = (reason or DEFAULT_ACCOUNT_REASON)[:255]
    with transaction.atomic():
        Account.objects.filter(pk=account_id).update(halted=True, halted_reason=reason)
        transaction.on_commit(lambda: broadcast_halt(account_id, skip_shard))
    log.warning("account %s halted: %s", account_id, reason)


class ResumeRefused(PermissionError):
    """The caller may not lift this halt."""


def resume_account(account_id: int, *, by_staff: bool = True) -> None:
    """Clear an account's halt. A halt the risk checks imposed (the daily loss limit) is lifted
    by staff only: an owner who could lift it would make the limit advisory."""
    if not by_staff:
        reason = Account.objects.values_list("halted_reason", flat=True).get(pk=account_id)
        code = reason.split(":", 1)[0]
        if code in RISK_HALT_CODES:
            raise ResumeRefused(
                f"the account was halted by the risk limit {code}: only staff can resume it"
            )
    Account.objects.filter(pk=account_id).update(halted=False, halted_reason="")
    log.warning("account %s resumed", account_id)


def halt_exchange(reason: str = "") -> None:
    """Halt everyone: the exchange flag, then every live order of every account is canceled."""
    reason = (reason or DEFAULT_EXCHANGE_REASON)[:255]
    with transaction.atomic():
        status = ExchangeStatus.get()
        status.halted, status.reason = True, reason
        status.save(update_fields=["halted", "reason", "updated_at"])
        transaction.on_commit(lambda: broadcast_halt(None))
    log.warning("exchange halted: %s", reason)


def resume_exchange() -> None:
    status = ExchangeStatus.get()
    status.halted, status.reason = False, ""
    status.save(update_fields=["halted", "reason", "updated_at"])
    log.warning("exchange resumed")
