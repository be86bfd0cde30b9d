"""`manage.py export_trades`: write each day's trades to BUCKET/YYYY/MM/DD/trades.csv.

The work is in trading_app.analytics.export; this parses the days, reports, and turns store
errors into a CommandError (a clear message and a non-zero exit).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime

from django.core.management.base import CommandError, CommandParser

from trading_app.analytics.export import days_between, export_day
from trading_app.analytics.stores import StoreError, get_store, store_kind
from trading_app.management.base import MigratedDatabaseCommand

MAX_DAYS = 3660


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"Invalid date {text!r}: expected YYYY-MM-DD") from None


class Command(MigratedDatabaseCommand):
    help = (
        "Export trades to BUCKET/YYYY/MM/DD/trades.csv, one file per UTC day (default: today). "
        "Without AWS configured, BUCKET is a local directory (see TRADE_EXPORT_STORE)."
    )
    migrations_checked_first = False  # argument and bucket errors come first

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="one UTC day, YYYY-MM-DD (default: today)")
        parser.add_argument("--start", help="first day of a range, YYYY-MM-DD")
        parser.add_argument("--end", help="last day of a range (inclusive), YYYY-MM-DD")
        parser.add_argument("--bucket", help="bucket name (default: TRADE_EXPORT_BUCKET)")

    def handle(self, *args, **options) -> None:
        days = self._days(options)
        began = time.perf_counter()
        try:
            store = get_store(options["bucket"])
            kind = store_kind()
            where = f"s3://{store.bucket}" if kind == "s3" else store.url("")
            self.stderr.write(f"exporting {len(days)} day(s) to {where} ({kind} store)")
            store.check_bucket()
            written = empty = rows = size = 0
            for day in days:
                result = export_day(day, store, progress=self._progress)
                if result is None:
                    empty += 1
                    self.stdout.write(f"{day}: no trades, nothing written")
                    continue
                written += 1
                rows += result.rows
                size += result.bytes
                rate = result.rows / result.seconds if result.seconds else 0
                self.stdout.write(
                    f"{day}: wrote {result.url} ({result.rows:,} rows, {result.bytes:,} bytes, "
                    f"{result.seconds:.2f} s, {rate:,.0f} rows/s)"
                )
        except StoreError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"export_trades: {written} file(s), {rows:,} rows, {size:,} bytes; "
                f"{empty} day(s) without trades; {time.perf_counter() - began:.2f} s"
            )
        )

    def _progress(self, message: str) -> None:
        self.stderr.write(message)
        sys.stderr.flush()

    def _days(self, options: dict) -> list[date]:
        days = self._asked_days(options)
        today = datetime.now(UTC).date()
        if days[-1] > today:
            raise CommandError(f"{days[-1]} is in the future (today is {today} UTC)")
        return days

    def _asked_days(self, options: dict) -> list[date]:
        one, start, end = options["date"], options["start"], options["end"]
        if one and (start or end):
            raise CommandError("Give --date, or --start and --end, not both")
        if one:
            return [_day(one)]
        if start or end:
            if not (start and end):
                raise CommandError("--start and --end go together")
            first, last = _day(start), _day(end)
            if last < first:
                raise CommandError(f"--end {last} is before --start {first}")
            days = days_between(first, last)
            if len(days) > MAX_DAYS:
                raise CommandError(f"{len(days)} days is too many at once (at most {MAX_DAYS})")
            return days
        return [datetime.now(UTC).date()]
