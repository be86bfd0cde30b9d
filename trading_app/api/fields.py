from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trading_app.money import format_price
from trading_app.services.order_validation import parse_price, parse_quantity


class PriceField(serializers.Field):
    """A positive Decimal price (JSON number or string), rendered as a string."""

    max_digits, decimal_places = 20, 6  # the price columns' (for the schema)

    def to_internal_value(self, data) -> Decimal:
        try:
            return parse_price(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value) -> str | None:
        return format_price(value)


def decimal_schema(auto_schema, field, direction) -> dict:
    """A Decimal field's schema: a response has a Decimal string ("350.25"); a request may send
    that string or a JSON number (350.25), both read exactly (trading_app.api.parsers)."""
    text = auto_schema._map_serializer_field(
        serializers.DecimalField(max_digits=field.max_digits, decimal_places=field.decimal_places),
        direction,
    )
    if direction == "response":
        return text
    return {"oneOf": [text, build_basic_type(OpenApiTypes.NUMBER)]}


class PriceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = PriceField

    def map_serializer_field(self, auto_schema, direction):
        return decimal_schema(auto_schema, self.target, direction)


class LenientDecimalField(serializers.DecimalField):
    """A DecimalField documented as accepting a JSON number as well as a Decimal string (DRF's
    DecimalField reads both); for request bodies a view parses itself."""


class LenientDecimalFieldSchema(OpenApiSerializerFieldExtension):
    target_class = LenientDecimalField

    def map_serializer_field(self, auto_schema, direction):
        return decimal_schema(auto_schema, self.target, direction)


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


MAX_SYMBOL_LENGTH = 16


def clean_symbol(raw: object) -> str | None:
    """The canonical form of a symbol from a URL, a query or a body, or None when it cannot be
    one. PostgreSQL refuses NUL in text, so a NUL that reached a query would be a 500 there and
    nowhere else: such input stops here."""
    if not isinstance(raw, str):
        return None
    symbol = raw.strip().upper()
    if not symbol or len(symbol) > MAX_SYMBOL_LENGTH or not symbol.isprintable():
        return None
    return symbol


class SymbolRelatedField(serializers.SlugRelatedField):
    """An Instrument named by its symbol, case-insensitive; unprintable input is refused."""

    # the orders endpoint's wording, not DRF's "Object with symbol=ZZZZ does not exist."
    default_error_messages = {
        **serializers.SlugRelatedField.default_error_messages,
        "does_not_exist": "unknown symbol {value!r}",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "symbol")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        symbol = clean_symbol(data)
        if symbol is None:
            raise serializers.ValidationError("must be a symbol such as AAPL")
        return super().to_internal_value(symbol)


class RejectUnknownFieldsMixin:
    """For a Serializer: fields it does not have are a 400 by name, as the orders API answers
    (a misspelt option must not be silently dropped), listed beside any other field's error.
    Read-only fields are known fields: a client may send back what it read."""

    def to_internal_value(self, data: Any) -> dict:
        unknown = (
            sorted(map(str, set(data) - set(self.fields))) if isinstance(data, Mapping) else []
        )
        message = f"unknown field(s): {', '.join(unknown)}"
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.setdefault("non_field_errors", []).append(message)
            raise
        if unknown:
            raise serializers.ValidationError({"non_field_errors": [message]})
        return value
