"""The pure analysis entry point: CSV lines in, analysis dict out. No I/O, no AWS.

The Lambda handler feeds it lines streamed from S3; the Django app can feed it any iterable of
lines (a file, a generator over a query) and get the same figures in-process.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from trade_report import build_report
from trade_rules import parse_day
from trade_stats import DayStats, TradeCsvError

__all__ = ["TradeCsvError", "analyze_lines"]


def analyze_lines(lines: Iterable[str], *, day: date | str | None = None) -> dict[str, Any]:
    """Analyse one day's trade CSV given as lines (header first, line endings optional).

    `day` (a date or "YYYY-MM-DD") is the UTC day every timestamp must fall on; rows on other
    days are reported as malformed. Without it, the first valid row's day is used.
    Raises TradeCsvError if the header is missing or wrong; bad rows never raise.
    """
    if isinstance(day, str):
        day = parse_day(day)
    elif isinstance(day, datetime):
        day = day.date()
    stats = DayStats(day)
    stats.consume(lines)
    return build_report(stats)
