"""Risk settings that have sensible defaults when settings.py does not name them.

Read through functions (not at import) so that tests and the benchmark can flip them with
`settings.X = ...` before building a worker.
"""

from __future__ import annotations

import os

from django.conf import settings


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "")
    if not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def checks_enabled() -> bool:
    """RISK_CHECKS_ENABLED (default True). Halts are enforced either way: a kill switch is not
    a pre-trade check one may benchmark away."""
    value = getattr(settings, "RISK_CHECKS_ENABLED", None)
    if value is None:
        return _env_bool("RISK_CHECKS_ENABLED", True)
    return bool(value)


def liquidity_min_volume() -> int:
    """Below this many shares traded today, "a fraction of recent volume" says nothing: the
    liquidity check only applies once an instrument has traded at least this much."""
    return int(getattr(settings, "RISK_LIQUIDITY_MIN_VOLUME", 10_000))


def snapshot_seconds() -> float:
    """How often the worker writes account equity snapshots (one bulk insert each time)."""
    return float(getattr(settings, "RISK_SNAPSHOT_SECONDS", 60))


def marks_refresh_seconds() -> float:
    """How often marks of instruments traded on other shards are re-read from the database."""
    return float(getattr(settings, "RISK_MARKS_REFRESH_SECONDS", 1))


def alert_repeat_seconds() -> float:
    """A breach alert of one code for one account is sent at most this often (no flooding)."""
    return float(getattr(settings, "RISK_ALERT_REPEAT_SECONDS", 5))


def warning_fraction() -> float:
    """Usage of a limit above this fraction raises a warning alert (80%)."""
    return float(getattr(settings, "RISK_WARNING_FRACTION", 0.8))
