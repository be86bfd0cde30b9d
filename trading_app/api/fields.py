from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trading_app.money import format_price
from trading_app.services.order_validation import parse_price, parse_quantity


@extend_schema_field(OpenApiTypes.DECIMAL)
class PriceField(serializers.Field):
    """A positive Decimal price (JSON number or string), rendered as a string."""

    def to_internal_value(self, data) -> Decimal:
        try:
            return parse_price(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value) -> str | None:
        return format_price(value)


@extend_schema_field(OpenApiTypes.INT)
class QuantityField(serializers.Field):
    def to_internal_value(self, data) -> int:
        try:
            return parse_quantity(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value) -> int:
        return value


class PriceOutField(serializers.DecimalField):
    """A read-only price column rendered like PriceField."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 6)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value) -> str | None:
        return format_price(value)
