"""REST views: parse, call a service or selector, render. No business logic lives here."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from trading_app.api.fields import clean_symbol
from trading_app.api.filters import TradeFilter
from trading_app.api.openapi import errors
from trading_app.api.parsers import DecimalJSONParser
from trading_app.api.serializers import (
    AccountSerializer,
    InstrumentSerializer,
    MarketDataRequestSerializer,
    OrderCreateSerializer,
    OrderReplaceSerializer,
    OrderSerializer,
    PositionSerializer,
    TradeSerializer,
    account_payload,
)
from trading_app.models import Instrument, Order, Position, Trade
from trading_app.selectors.portfolio import account_summary, value_position
from trading_app.selectors.trading import orders_for, positions_for, trades_for
from trading_app.services.accounts import account_for_user
from trading_app.services.market_data import latest_quotes
from trading_app.services.orders import (
    OrderNotCancelable,
    OrderNotReplaceable,
    WorkerUnreachable,
    request_cancel,
    request_replace,
    submit_order,
)
from trading_app.services.trades import (
    TradeReadOnly,
    create_manual_trade,
    delete_manual_trade,
    update_manual_trade,
)

ORDER_EXAMPLE = OpenApiExample(
    "Limit buy",
    value={
        "symbol": "AAPL",
        "side": "buy",
        "type": "limit",
        "qty": 10,
        "limit_price": "189.50",
        "time_in_force": "gtc",
        "client_order_id": "my-order-1",
    },
    request_only=True,
)


class TokenView(ObtainAuthToken):
    """DRF's token view, reading JSON with our parser: a too deeply nested body is a 400, not a 500."""

    parser_classes = (FormParser, MultiPartParser, DecimalJSONParser)


class AccountScopedMixin:
    parser_classes = [DecimalJSONParser]

    @property
    def account(self):
        return account_for_user(self.request.user)

    def is_schema_generation(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, enum=["open", "closed", "all"], description="default open"
            ),
            OpenApiParameter("symbol", str),
            OpenApiParameter("side", str, enum=["buy", "sell"]),
        ]
    ),
    create=extend_schema(
        request=OrderCreateSerializer,
        responses={201: OrderSerializer, **errors(400, 401)},
        examples=[ORDER_EXAMPLE],
    ),
    destroy=extend_schema(
        responses={202: OrderSerializer, **errors(401, 404, 422)},
        description="Ask the exchange to cancel; the order turns canceled once the matching worker applies it.",
    ),
    partial_update=extend_schema(
        request=OrderReplaceSerializer,
        responses={
            202: OrderSerializer,
            **errors(
                400,
                401,
                404,
                (422, "the order is no longer open, or is being canceled"),
                503,
            ),
        },
        description=(
            "Replace: change an open order's qty and/or limit price (Alpaca's PATCH). The reply "
            "is the order as it stands; the matching worker applies the change in the book's "
            "order (a smaller qty keeps the order's place; a new price or a larger qty sends it "
            "to the back) or refuses it (e.g. a qty not above what is filled), and says which on "
            "the account's trade_updates stream: event `replaced`, or an error."
        ),
        examples=[
            OpenApiExample(
                "new price and size", value={"qty": 20, "limit_price": "189.50"}, request_only=True
            )
        ],
    ),
)
class OrderViewSet(
    AccountScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrderSerializer
    queryset = Order.objects.none()

    def get_queryset(self):
        if self.is_schema_generation():
            return Order.objects.none()
        if self.action != "list":
            return orders_for(self.account, "all")
        status_param = self.request.query_params.get("status", "open")
        if status_param not in ("open", "closed", "all"):
            raise ValidationError({"status": ["must be one of open, closed, all"]})
        qs = orders_for(self.account, status_param)
        symbol = self.request.query_params.get("symbol")
        if symbol:
            if clean_symbol(symbol) is None:
                raise ValidationError({"symbol": ["must be a symbol such as AAPL"]})
            qs = qs.filter(instrument__symbol=clean_symbol(symbol))
        side = self.request.query_params.get("side")
        if side:
            if side not in ("buy", "sell"):
                raise ValidationError({"side": ["must be buy or sell"]})
            qs = qs.filter(side=side)
        return qs

    def create(self, request, *args, **kwargs):
        order = submit_order(self.account, request.data)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        try:
            order = request_cancel(self.get_object())
        except OrderNotCancelable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response(OrderSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    def partial_update(self, request, *args, **kwargs):
        try:
            order = request_replace(self.get_object(), request.data)
        except OrderNotReplaceable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except WorkerUnreachable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(OrderSerializer(order).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[OpenApiParameter("client_order_id", str, required=True)])
    @action(detail=False, url_path="by_client_order_id")
    def by_client_order_id(self, request):
        coid = request.query_params.get("client_order_id")
        if not coid:
            raise ValidationError({"client_order_id": ["This query parameter is required."]})
        if len(coid) > 64 or not coid.isprintable():
            raise ValidationError(
                {"client_order_id": ["must be a printable string of at most 64 characters"]}
            )
        order = orders_for(self.account, "all").filter(client_order_id=coid).first()
        if order is None:
            raise NotFound("no order with that client_order_id")
        return Response(OrderSerializer(order).data)


@extend_schema_view(
    create=extend_schema(
        examples=[
            OpenApiExample(
                "003's example",
                value={"ticker": "MSFT", "price": 350.25, "quantity": 5, "side": "buy"},
                request_only=True,
            )
        ]
    )
)
class TradeViewSet(AccountScopedMixin, viewsets.ModelViewSet):
    """003's trade API: the account's trades, with ticker/side/source/start_date/end_date filters."""

    serializer_class = TradeSerializer
    filterset_class = TradeFilter
    queryset = Trade.objects.none()

    def get_queryset(self):
        if self.is_schema_generation():
            return Trade.objects.none()
        return trades_for(self.account)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = create_manual_trade(
            self.account,
            data["instrument"],
            data["side"],
            data["price"],
            data["quantity"],
            data.get("timestamp"),
        )

    def perform_update(self, serializer):
        try:
            serializer.instance = update_manual_trade(
                serializer.instance, **serializer.validated_data
            )
        except TradeReadOnly as exc:
            raise PermissionDenied(str(exc)) from None

    def update(self, request, *args, **kwargs):
        if self.get_object().is_exchange_fill:
            raise PermissionDenied(
                "exchange fills are read-only: they are the record of an execution"
            )
        return super().update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        try:
            delete_manual_trade(instance)
        except TradeReadOnly as exc:
            raise PermissionDenied(str(exc)) from None


class InstrumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = InstrumentSerializer
    queryset = Instrument.objects.all()
    lookup_field = "symbol"
    pagination_class = None

    def get_object(self):
        symbol = clean_symbol(self.kwargs["symbol"])
        instrument = Instrument.objects.filter(symbol=symbol).first() if symbol else None
        if instrument is None:
            raise NotFound(f"unknown symbol {symbol!r}")
        return instrument


class PositionViewSet(AccountScopedMixin, viewsets.GenericViewSet):
    serializer_class = PositionSerializer
    queryset = Position.objects.none()
    lookup_field = "symbol"
    pagination_class = None

    def list(self, request):
        values = [value_position(p) for p in positions_for(self.account)]
        return Response(PositionSerializer(values, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("symbol", str, OpenApiParameter.PATH, description="e.g. AAPL")]
    )
    def retrieve(self, request, symbol=None):
        symbol = clean_symbol(symbol)
        position = (
            positions_for(self.account).filter(instrument__symbol=symbol).first()
            if symbol
            else None
        )
        if position is None:
            raise NotFound(f"no position in {symbol or 'that symbol'}")
        return Response(PositionSerializer(value_position(position)).data)


class AccountView(AccountScopedMixin, APIView):
    @extend_schema(responses=AccountSerializer)
    def get(self, request):
        account = self.account
        return Response(AccountSerializer(account_payload(account, account_summary(account))).data)


class MarketDataView(APIView):
    """000's `POST /get_market_data`: the latest quote of each symbol."""

    parser_classes = [DecimalJSONParser]

    @extend_schema(
        request=MarketDataRequestSerializer,
        responses={200: dict},
        examples=[
            OpenApiExample(
                "symbols", value={"symbols": ["AAPL", "TSLA", "GOOG"]}, request_only=True
            )
        ],
    )
    def post(self, request):
        serializer = MarketDataRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"data": latest_quotes(serializer.validated_data["symbols"])})
