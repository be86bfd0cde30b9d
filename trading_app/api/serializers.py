"""Serializers: shapes of the JSON the API speaks (Alpaca's for orders and positions, 003's for trades)."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

from trading_app.api.fields import (
    PriceField,
    PriceOutField,
    QuantityField,
    RejectUnknownFieldsMixin,
    SymbolRelatedField,
)
from trading_app.models import (
    Account,
    Instrument,
    Liquidity,
    Order,
    OrderType,
    Side,
    TimeInForce,
    Trade,
)
from trading_app.selectors.portfolio import PositionValue
from trading_app.services.trades import MAX_TRADE_NOTIONAL


class InstrumentSerializer(serializers.ModelSerializer):
    tick_size = PriceOutField()
    reference_price = PriceOutField(allow_null=True)
    last_price = PriceOutField(allow_null=True)

    class Meta:
        model = Instrument
        fields = [
            "symbol",
            "name",
            "exchange",
            "tick_size",
            "lot_size",
            "active",
            "max_position",
            "margin_requirement",
            "reference_price",
            "last_price",
            "last_trade_at",
        ]


class OrderReplaceSerializer(serializers.Serializer):
    """Documents PATCH /api/orders/{id}/; validation is services.order_validation.replace_changes
    (shared with the WebSocket `replace`)."""

    qty = serializers.IntegerField(required=False, min_value=1, help_text="the new total quantity")
    limit_price = serializers.DecimalField(
        max_digits=20,
        decimal_places=6,
        required=False,
        help_text="the new limit price (limit and stop_limit orders), a multiple of the tick size",
    )


class OrderCreateSerializer(serializers.Serializer):
    """Documents the order ticket; validation itself is services.order_validation (shared with WS)."""

    symbol = serializers.CharField(help_text="e.g. AAPL")
    side = serializers.ChoiceField(choices=Side.choices)
    type = serializers.ChoiceField(choices=OrderType.choices)
    qty = serializers.IntegerField(min_value=1)
    time_in_force = serializers.ChoiceField(choices=TimeInForce.choices, default="day")
    limit_price = serializers.DecimalField(
        max_digits=20, decimal_places=6, required=False, allow_null=True
    )
    stop_price = serializers.DecimalField(
        max_digits=20, decimal_places=6, required=False, allow_null=True
    )
    client_order_id = serializers.CharField(max_length=64, required=False)


class OrderSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    submitted_at = serializers.DateTimeField(source="created_at", read_only=True)
    sequence = serializers.IntegerField(source="seq", read_only=True, allow_null=True)
    limit_price = PriceOutField(allow_null=True)
    stop_price = PriceOutField(allow_null=True)
    filled_avg_price = PriceOutField(allow_null=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "client_order_id",
            "symbol",
            "side",
            "type",
            "time_in_force",
            "qty",
            "limit_price",
            "stop_price",
            "status",
            "filled_qty",
            "filled_avg_price",
            "reject_reason",
            "cancel_requested",
            "sequence",
            "origin",
            "created_at",
            "submitted_at",
            "updated_at",
            "filled_at",
            "canceled_at",
            "expired_at",
        ]
        read_only_fields = fields


class TradeSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """003's trade: {"ticker", "price", "quantity", "side"}; exchange fields are read-only."""

    ticker = SymbolRelatedField(queryset=Instrument.objects.all(), source="instrument")
    price = PriceField()
    quantity = QuantityField()
    timestamp = serializers.DateTimeField(required=False)
    order_id = serializers.UUIDField(source="order.id", read_only=True, allow_null=True)
    # "" for a manual trade (the model's blank=True, which a read-only ChoiceField loses)
    liquidity = serializers.ChoiceField(choices=Liquidity.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Trade
        fields = [
            "id",
            "ticker",
            "side",
            "price",
            "quantity",
            "timestamp",
            "order_id",
            "source",
            "execution_id",
            "liquidity",
        ]
        read_only_fields = ["id", "order_id", "source", "execution_id", "liquidity"]

    # A trade is booked when it happened; a clock a little ahead of ours is not an error.
    FUTURE_TOLERANCE = timedelta(minutes=1)
    # Year 1 is a valid datetime, but no trade of this platform is older than Unix time.
    EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

    def validate_timestamp(self, value):
        if value > timezone.now() + self.FUTURE_TOLERANCE:
            raise serializers.ValidationError("must not be in the future")
        if value < self.EARLIEST:
            raise serializers.ValidationError(f"must be on or after {self.EARLIEST:%Y-%m-%d}")
        return value

    def validate(self, attrs):
        instrument = attrs.get("instrument") or getattr(self.instance, "instrument", None)
        price = attrs.get("price")
        if instrument is not None and price is not None and price % instrument.tick_size:
            raise serializers.ValidationError(
                {
                    "price": [
                        f"must be a multiple of the tick size {instrument.tick_size.normalize()}"
                    ]
                }
            )
        quantity = attrs.get("quantity")
        if instrument is not None and quantity is not None and quantity % instrument.lot_size:
            raise serializers.ValidationError(
                {"quantity": [f"must be a multiple of the lot size {instrument.lot_size}"]}
            )
        price = price if price is not None else getattr(self.instance, "price", None)
        quantity = quantity if quantity is not None else getattr(self.instance, "quantity", None)
        if price is not None and quantity is not None and price * quantity > MAX_TRADE_NOTIONAL:
            raise serializers.ValidationError(
                {"quantity": [f"price x quantity must be at most {MAX_TRADE_NOTIONAL:,}"]}
            )
        return attrs


class PositionSerializer(serializers.Serializer):
    """Alpaca's position shape, valued at the instrument's latest price."""

    symbol = serializers.CharField(source="position.instrument.symbol")
    qty = serializers.IntegerField(source="position.qty")
    side = serializers.SerializerMethodField()
    avg_entry_price = PriceOutField(source="position.avg_cost")
    current_price = PriceOutField(allow_null=True)
    market_value = serializers.DecimalField(max_digits=20, decimal_places=2)
    cost_basis = serializers.DecimalField(max_digits=20, decimal_places=2)
    unrealized_pl = serializers.DecimalField(max_digits=20, decimal_places=2)
    unrealized_plpc = serializers.DecimalField(max_digits=12, decimal_places=6)
    realized_pl = serializers.DecimalField(
        source="position.realized_pnl", max_digits=20, decimal_places=4
    )

    def get_side(self, obj: PositionValue) -> str:
        qty = obj.position.qty
        return "long" if qty > 0 else "short" if qty < 0 else "flat"


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    currency = serializers.CharField()
    cash = serializers.DecimalField(max_digits=20, decimal_places=2)
    equity = serializers.DecimalField(max_digits=20, decimal_places=2)
    positions_value = serializers.DecimalField(max_digits=20, decimal_places=2)
    long_market_value = serializers.DecimalField(max_digits=20, decimal_places=2)
    short_market_value = serializers.DecimalField(max_digits=20, decimal_places=2)
    unrealized_pl = serializers.DecimalField(max_digits=20, decimal_places=2)
    halted = serializers.BooleanField()
    halted_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class MarketDataRequestSerializer(serializers.Serializer):
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=16), min_length=1, max_length=100
    )


def account_payload(account: Account, summary: dict) -> dict:
    return {
        "id": account.id,
        "username": account.user.get_username(),
        "currency": "USD",
        "halted": account.halted,
        "halted_reason": account.halted_reason,
        "created_at": account.created_at,
        **summary,
    }
