"""Effective risk limits: settings.RISK_DEFAULTS, overridden per account by RiskLimits (NULL = default).

One place resolves them (the worker and the API agree by construction) and validates overrides
(the API's PATCH and the admin form name the faulty field the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from trading_app.models import RiskLimits

INT_FIELDS = ("max_order_qty", "max_position_qty", "max_orders_per_second")
DECIMAL_FIELDS = (
    "max_order_notional",
    "max_gross_exposure",
    "price_collar_pct",
    "max_volume_pct",
    "max_daily_loss",
)
LIMIT_FIELDS = (
    "max_order_qty",
    "max_order_notional",
    "max_position_qty",
    "max_gross_exposure",
    "price_collar_pct",
    "max_orders_per_second",
    "max_volume_pct",
    "max_daily_loss",
)
# Largest values the RiskLimits columns hold (max_digits/decimal_places of each field).
_MAX = {
    "max_order_notional": Decimal("9999999999999999.9999"),
    "max_gross_exposure": Decimal("9999999999999999.9999"),
    "max_daily_loss": Decimal("9999999999999999.9999"),
    "price_collar_pct": Decimal("9999.999"),
    "max_volume_pct": Decimal("9999.999"),
}
_PLACES = {"price_collar_pct": 3, "max_volume_pct": 3}
MAX_INT = 2**63 - 1


@dataclass(slots=True, frozen=True)
class EffectiveLimits:
    max_order_qty: int
    max_order_notional: Decimal
    max_position_qty: int
    max_gross_exposure: Decimal
    price_collar_pct: Decimal
    max_orders_per_second: int
    max_volume_pct: Decimal
    max_daily_loss: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LIMIT_FIELDS}


def defaults() -> dict[str, Any]:
    """settings.RISK_DEFAULTS with every field present and typed (int or Decimal)."""
    raw = getattr(settings, "RISK_DEFAULTS", {}) or {}
    out: dict[str, Any] = {}
    for name in LIMIT_FIELDS:
        value = raw.get(name)
        if value is None:
            raise ValueError(f"settings.RISK_DEFAULTS lacks {name!r}")
        out[name] = int(value) if name in INT_FIELDS else Decimal(str(value))
    return out


def resolve(
    overrides: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None
) -> EffectiveLimits:
    """Defaults with every non-NULL override applied."""
    values = dict(base if base is not None else defaults())
    if overrides:
        for name in LIMIT_FIELDS:
            value = overrides.get(name)
            if value is not None:
                values[name] = value
    return EffectiveLimits(**values)


def overrides_of(row: RiskLimits | None) -> dict[str, Any]:
    """The override columns of a RiskLimits row (all None without a row)."""
    return {name: (getattr(row, name) if row is not None else None) for name in LIMIT_FIELDS}


def load_limits(account_ids: Iterable[int]) -> dict[int, EffectiveLimits]:
    """Effective limits of many accounts in one query (accounts without a row get the defaults)."""
    ids = list(account_ids)
    base = defaults()
    rows = {
        row["account_id"]: row
        for row in RiskLimits.objects.filter(account_id__in=ids).values("account_id", *LIMIT_FIELDS)
    }
    default_limits = resolve(None, base)
    return {i: (resolve(rows[i], base) if i in rows else default_limits) for i in ids}


class LimitsValidationError(Exception):
    """Field name -> list of messages (DRF's 400 shape)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def _parse(name: str, value: Any) -> int | Decimal:
    if isinstance(value, bool):
        raise ValueError("must be a number or null")
    if name in INT_FIELDS:
        try:
            dec = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("must be a whole number or null") from None
        if not dec.is_finite() or dec != dec.to_integral_value():
            raise ValueError("must be a whole number or null")
        number = int(dec)
        if number < 0:
            raise ValueError("must be zero or more")
        if number > MAX_INT:
            raise ValueError(f"must be at most {MAX_INT}")
        return number
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal number or null") from None
    if not dec.is_finite():
        raise ValueError("must be a finite number")
    if dec < 0:
        raise ValueError("must be zero or more")
    if dec > _MAX[name]:
        raise ValueError(f"must be at most {_MAX[name]}")
    places = _PLACES.get(name, 4)
    if dec != dec.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"must have at most {places} decimal places")
    return dec


def validate_overrides(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a PATCH body: known fields only, each a non-negative number or null (= default)."""
    if not isinstance(data, Mapping):
        raise LimitsValidationError({"non_field_errors": ["expected a JSON object"]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name not in LIMIT_FIELDS:
            errors[name] = [f"unknown limit; the limits are {', '.join(LIMIT_FIELDS)}"]
            continue
        if value is None:
            cleaned[name] = None
            continue
        try:
            cleaned[name] = _parse(name, value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if not data and not errors:
        errors["non_field_errors"] = ["nothing to change: send at least one limit"]
    if errors:
        raise LimitsValidationError(errors)
    return cleaned
