"""The trading session's end, when day orders expire (SESSION_END_UTC, "HH:MM"; empty = never)."""

from __future__ import annotations

from datetime import datetime, time, timedelta


class SessionClock:
    def __init__(self, end_utc: str | None) -> None:
        self.end: time | None = None
        if end_utc:
            hour, minute = (int(x) for x in end_utc.split(":"))
            self.end = time(hour, minute)
        self._next_end: datetime | None = None

    def last_end_before(self, moment: datetime) -> datetime | None:
        if self.end is None:
            return None
        candidate = moment.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0
        )
        return candidate if candidate <= moment else candidate - timedelta(days=1)

    def expired(self, created_at: datetime, now: datetime) -> bool:
        """A day order accepted before the latest session end has outlived its day."""
        last_end = self.last_end_before(now)
        return last_end is not None and created_at < last_end

    def crossed(self, now: datetime) -> bool:
        """True once each time the clock passes a session end while the worker runs."""
        if self.end is None:
            return False
        if self._next_end is None:
            self._next_end = self.last_end_before(now) + timedelta(days=1)
            return False
        if now >= self._next_end:
            self._next_end = self.last_end_before(now) + timedelta(days=1)
            return True
        return False
