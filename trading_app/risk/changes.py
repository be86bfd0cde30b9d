"""The risk gate's change detector: which accounts to re-read before the next batch.

The gate keeps each account's cash, positions, limits and halt in memory. The worker itself
writes cash and positions (fills), so its picture stays right without re-reading them; what
changes elsewhere is recorded as `RiskChange` rows, read once per batch with one query:

- database triggers (migration 0006) add a row for any change of a RiskLimits row, of an
  Account's halted flag or reason, and of the ExchangeStatus row (account NULL: re-read all);
- services that move cash or positions outside the worker call `note_risk_change` in their
  transaction (manual trades, an account reset, the admin's cash field).

Ids come from a sequence, so a transaction that took a smaller id may commit after one with a
larger id. The feed therefore re-reads the rows of the last WINDOW on each poll and remembers
which of those it has handled; only older rows are skipped for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from trading_app.models import RiskChange

WINDOW = timedelta(seconds=60)  # longer than any transaction that writes a change
KEEP = timedelta(hours=1)  # rows older than this are deleted (shard 0, with the snapshots)


def note_risk_change(account_ids: Iterable[int | None]) -> None:
    """Tell the gates to re-read these accounts (None: everything) on their next batch."""
    rows = [RiskChange(account_id=a) for a in set(account_ids)]
    if rows:
        RiskChange.objects.bulk_create(rows)


def prune(now=None) -> int:
    now = now or timezone.now()
    deleted, _ = RiskChange.objects.filter(created_at__lt=now - KEEP).delete()
    return deleted


class ChangeFeed:
    """Reads RiskChange rows newer than the last poll; each row is reported once.

    Rows of the last WINDOW that were already handled are kept here, with their times, and left
    out of the query: a poll reads only what is new (one cheap query once nothing is), instead
    of the whole window's rows on every batch.
    """

    def __init__(self) -> None:
        self.floor = 0  # every row with an id <= floor has been handled
        self.seen: dict[int, datetime] = {}  # handled rows above the floor -> created_at

    def start(self) -> None:
        """Before the gate loads its state: everything recorded so far is in what it loads."""
        horizon = timezone.now() - WINDOW
        old = RiskChange.objects.filter(created_at__lt=horizon).aggregate(m=Max("id"))["m"]
        self.floor = old or 0
        self.seen = dict(
            RiskChange.objects.filter(id__gt=self.floor).values_list("id", "created_at")
        )

    def poll(self) -> tuple[set[int], bool]:
        """(accounts changed since the last poll, whether everything must be re-read)."""
        seen = self.seen
        if seen and connection.vendor == "postgresql":
            # The handled ids as one array parameter: an IN list of a few hundred parameters
            # cost ~2 ms a batch to build and convert, most of a small batch's time.
            table = RiskChange._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, account_id, created_at FROM {table} "
                    "WHERE id > %s AND NOT (id = ANY(%s))",
                    [self.floor, list(seen)],
                )
                rows = cursor.fetchall()
        else:
            rows = list(
                RiskChange.objects.filter(id__gt=self.floor)
                .exclude(id__in=list(seen))
                .values_list("id", "account_id", "created_at")
            )
        accounts: set[int] = set()
        everything = False
        for rid, account_id, created in rows:
            seen[rid] = created
            if account_id is None:
                everything = True
            else:
                accounts.add(account_id)
        if seen:
            self._raise_floor()
        return accounts, everything

    def _raise_floor(self) -> None:
        """Forget handled rows older than WINDOW, up to the first younger one in id order (a
        smaller id may still commit while a younger row is in flight)."""
        horizon = timezone.now() - WINDOW
        floor = self.floor
        for rid in sorted(self.seen):
            if self.seen[rid] >= horizon:
                break
            floor = rid
        if floor != self.floor:
            self.floor = floor
            self.seen = {i: t for i, t in self.seen.items() if i > floor}
