"""OpenAPI documentation of the JSON the hand-built views return (drf-spectacular).

Risk, portfolio, strategy, backtest and market-data views build their bodies as dicts
(trading_app.risk, strategy_views' payload functions, services.market_data); the serializers here
describe those bodies for /api/schema/ and are never used to render anything. Their fields
follow the code that builds each body: amounts that are Decimal strings there are
``DecimalField``s here (``type: string, format: decimal``), the backtester's floats are numbers.
tests/api/test_openapi_schema.py checks real responses against them.

Errors are rendered by DRF through trading_app.api.errors.exception_handler: ``{"detail": ...}``
for 401/403/404/409/422, and a 400 maps each field in error to its messages (or is
``{"detail": ...}`` when the body is not JSON at all). ``errors()`` documents them.

Importing this module also registers the schema extensions below (the market-data view's
response lives in views.py, documented from here).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiViewExtension
from drf_spectacular.plumbing import build_array_type, build_basic_type, build_object_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers

from algo_trading.live.session import SOURCES
from trading_app.api.fields import LenientDecimalField

# Choice sets named in settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] (each also has a
# field called "status", "type" or "source" elsewhere in the API).
BACKTEST_STATUSES = ["running", "done", "failed"]
RUN_STATUSES = ["starting", "running", "stopping", "stopped", "failed"]
PARAM_TYPES = ["int", "float", "bool", "str"]
LIVE_SOURCES = list(SOURCES)

# ------------------------------------------------------------------------------------ errors


class ErrorSerializer(serializers.Serializer):
    """The body of every 401, 403, 404, 409 and 422 (and of a 400 whose body was not JSON)."""

    detail = serializers.CharField(help_text="what went wrong, in one sentence")


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: each field in error names its messages, e.g. ``{"symbol": ["must be ..."]}``.
    An error in an item of a list field is keyed by the item's index:
    ``{"symbols": {"0": ["..."]}}``."""

    detail = serializers.CharField(
        required=False, help_text="only when the body could not be parsed at all (bad JSON)"
    )
    non_field_errors = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="errors of the request as a whole (unknown fields, fields that conflict)",
    )


class ValidationErrorExtension(OpenApiSerializerExtension):
    """The field names of a 400 are the request's own: a map of field -> messages, beside the
    two fixed keys (a serializer alone cannot say "and any other key")."""

    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        messages = build_array_type(build_basic_type(OpenApiTypes.STR))
        return {
            **schema,
            "additionalProperties": {
                "oneOf": [messages, build_object_type(additionalProperties=messages)]
            },
        }


ERROR_TEXT = {
    400: "Invalid input: each field in error with its messages",
    401: "No credentials, or a token that is not valid",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    422: "Cannot be applied in the current state",
    503: "The exchange did not take the request; nothing changed, try again",
}
ERROR_EXAMPLE = {
    400: {"symbol": ["must be a ticker symbol such as AAPL"]},
    401: {"detail": "Authentication credentials were not provided."},
    403: {"detail": "only staff may act on another account"},
    404: {"detail": "Not found."},
    409: {"detail": "5 runs are active; stop one first (at most 5)"},
    422: {"detail": "order is already filled"},
    503: {"detail": "the exchange did not take the replace; try again"},
}
CSRF_ONLY = "signed in with a browser session, the request lacked its CSRF token"
CSRF = f"; or, {CSRF_ONLY}"
CSRF_EXAMPLE = {"detail": "CSRF Failed: CSRF token missing."}
PAGE_ERRORS = (
    (
        400,
        "page or page_size is not a whole number of at least 1",
        {"page": ["must be a whole number of at least 1"]},
    ),
    (404, "a page past the end", {"detail": "Invalid page."}),
)


def errors(*specs: int | tuple) -> dict[int, OpenApiResponse]:
    """The error responses of an operation: ``responses={200: ..., **errors(400, 401, ...)}``.

    A spec is a status code, or ``(code, what it means here)``, or ``(code, what it means here,
    an example body)``; the body's shape follows the code (ValidationError for a 400)."""
    out: dict[int, OpenApiResponse] = {}
    for spec in specs:
        code, text, example = (
            (*spec, None, None)[:3] if isinstance(spec, tuple) else (spec, None, None)
        )
        out[code] = OpenApiResponse(
            ValidationErrorSerializer if code == 400 else ErrorSerializer,
            description=text or ERROR_TEXT[code],
            examples=[
                OpenApiExample(
                    str(code), value=example or ERROR_EXAMPLE[code], status_codes=[str(code)]
                )
            ],
        )
    return out


def money_field(**kwargs) -> serializers.DecimalField:
    """An amount in cents as the API writes it: a Decimal string such as "1751.25"."""
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def price_field(**kwargs) -> serializers.DecimalField:
    """A price as the API writes it: at least two decimals, up to six ("190.00", "0.000125")."""
    return serializers.DecimalField(max_digits=20, decimal_places=6, **kwargs)


# ------------------------------------------------------------------------- risk and portfolio


class PortfolioPositionSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=["long", "short", "flat"])
    qty = serializers.IntegerField(help_text="negative when short")
    avg_cost = price_field()
    current_price = price_field(allow_null=True, help_text="the mark: last trade, else reference")
    market_value = money_field()
    cost_basis = money_field()
    unrealized_pnl = money_field()
    realized_pnl = money_field()
    total_pnl = money_field()


class InstrumentPnlSerializer(serializers.Serializer):
    realized = money_field()
    unrealized = money_field()
    total = money_field()


class PortfolioSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="username")
    as_of = serializers.DateTimeField()
    cash = money_field()
    equity = money_field(help_text="cash + net exposure")
    long_market_value = money_field()
    short_market_value = money_field(help_text="zero or negative")
    gross_exposure = money_field()
    net_exposure = money_field()
    realized_pnl = money_field()
    unrealized_pnl = money_field()
    total_pnl = money_field()
    day_pnl = money_field(allow_null=True, help_text="null before the first equity snapshot")
    halted = serializers.BooleanField()
    halted_reason = serializers.CharField(allow_blank=True)
    positions = PortfolioPositionSerializer(
        many=True, help_text="open positions, and closed ones with realized P&L"
    )
    pnl_by_instrument = serializers.DictField(
        child=InstrumentPnlSerializer(), help_text="symbol -> P&L"
    )


class EquityPointSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    equity = money_field()
    cash = money_field()
    market_value = money_field()
    gross_exposure = money_field()


class EquityHistorySerializer(serializers.Serializer):
    account = serializers.CharField(help_text="username")
    points = EquityPointSerializer(many=True, help_text="oldest first")


class ValueAtRiskSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=["equity_history", "instrument_returns", "insufficient_data", "no_positions"],
        help_text="equity_history: 20+ daily equity changes; else instrument_returns from "
        "one-minute bars of the positions held (insufficient_data under 10 of them)",
    )
    historical = money_field(allow_null=True, help_text="a loss, as a positive amount")
    parametric = money_field(allow_null=True)
    observations = serializers.IntegerField()
    period = serializers.CharField(
        allow_null=True, help_text='"1 day" or "1 minute" (the data\'s period)'
    )
    instruments_without_data = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="from instrument returns only: held symbols with no bars",
    )
    scaled_by = serializers.CharField(
        required=False, help_text='instrument_returns only: "sqrt(N)", N bars a day'
    )


class DrawdownSerializer(serializers.Serializer):
    amount = money_field()
    pct = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="% of the peak")
    peak = money_field(allow_null=True)
    trough = money_field(allow_null=True)
    peak_at = serializers.DateTimeField(allow_null=True)
    trough_at = serializers.DateTimeField(allow_null=True)
    observations = serializers.IntegerField()


class PositionSizingSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    price = price_field(allow_null=True)
    current_qty = serializers.IntegerField()
    position_limit = serializers.IntegerField()
    daily_volatility = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, help_text="fraction, e.g. 0.012345"
    )
    suggested_max_qty = serializers.IntegerField(allow_null=True)
    observations = serializers.IntegerField()


class RiskMetricsSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="username")
    as_of = serializers.DateTimeField()
    equity = money_field()
    gross_exposure = money_field()
    net_exposure = money_field()
    var_95_1d = ValueAtRiskSerializer()
    max_drawdown = DrawdownSerializer(help_text="over the last 30 days")
    risk_budget_pct = serializers.DecimalField(
        max_digits=20, decimal_places=6, help_text="% of equity one position may put at risk"
    )
    position_sizing = PositionSizingSerializer(many=True)


LIMIT_HELP = {
    "max_order_qty": "largest quantity of one order",
    "max_order_notional": "largest qty x price of one order",
    "max_position_qty": "largest position per instrument, counting open orders",
    "max_gross_exposure": "largest gross exposure (positions and open orders at the mark)",
    "price_collar_pct": "a limit price may be at most this % from the reference price",
    "max_orders_per_second": "the account's order rate",
    "max_volume_pct": "largest order as a % of the instrument's volume today",
    "max_daily_loss": "the day's loss that halts the account",
}


def _limit_fields(*, nullable: bool, request: bool = False) -> dict[str, serializers.Field]:
    """One field per limit: counts are integers, amounts and percents Decimal strings
    (a request may send those as numbers too)."""
    from trading_app.risk.limits import INT_FIELDS, LIMIT_FIELDS

    decimal = LenientDecimalField if request else serializers.DecimalField
    extra = {"allow_null": True} if nullable else {}
    if request:
        extra["required"] = False
    fields: dict[str, serializers.Field] = {}
    for name in LIMIT_FIELDS:
        text = LIMIT_HELP[name]
        if name in INT_FIELDS:
            fields[name] = serializers.IntegerField(min_value=0, help_text=text, **extra)
        else:
            places = 3 if name.endswith("_pct") else 4
            fields[name] = decimal(
                max_digits=20 if places == 4 else 7, decimal_places=places, help_text=text, **extra
            )
    return fields


RiskLimitValuesSerializer = type(
    "RiskLimitValuesSerializer", (serializers.Serializer,), _limit_fields(nullable=False)
)
RiskLimitOverridesSerializer = type(
    "RiskLimitOverridesSerializer", (serializers.Serializer,), _limit_fields(nullable=True)
)
RiskLimitsChangeSerializer = type(
    "RiskLimitsChangeSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "Limits to override (at least one); null restores the default.",
        **_limit_fields(nullable=True, request=True),
    },
)


class RiskLimitsSerializer(serializers.Serializer):
    account = serializers.CharField(help_text="username")
    limits = RiskLimitValuesSerializer(help_text="in force: the defaults with the overrides")
    overrides = RiskLimitOverridesSerializer(help_text="this account's; null = the default")
    defaults = RiskLimitValuesSerializer()
    halted = serializers.BooleanField()
    halted_reason = serializers.CharField(allow_blank=True)
    exchange_halted = serializers.BooleanField()
    exchange_halted_reason = serializers.CharField(allow_blank=True)


class HaltScopeSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=["account", "exchange"], help_text="exchange: staff only"
    )
    account = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="scope account: USERNAME of another account (staff only); default: your own",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="halt only: shown with the rejected orders; a default names you",
    )


class HaltStateSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["account", "exchange"])
    account = serializers.CharField(required=False, help_text="scope account only: username")
    halted = serializers.BooleanField()
    reason = serializers.CharField(required=False, help_text="halt only")


# ---------------------------------------------------------------------------- strategies


class StrategyParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=PARAM_TYPES)
    default = serializers.JSONField(help_text="a value of the parameter's type")
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    choices = serializers.ListField(
        child=serializers.JSONField(), allow_null=True, help_text="the allowed values, if listed"
    )
    help = serializers.CharField(allow_blank=True)


class StrategySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="what backtests and runs ask for")
    description = serializers.CharField(allow_blank=True)
    vectorisable = serializers.BooleanField(help_text="has the fast vectorised backtest engine")
    params = StrategyParamSerializer(many=True)


class BacktestConfigSerializer(serializers.Serializer):
    """How the backtest was asked for (backtester numbers: plain JSON numbers)."""

    cash = serializers.FloatField()
    commission = serializers.DictField(allow_null=True, help_text='e.g. {"model": "percent"}')
    slippage = serializers.DictField(allow_null=True)
    sizing = serializers.DictField(allow_null=True)
    engine = serializers.ChoiceField(choices=["auto", "event", "vectorised"])
    data = serializers.CharField(help_text="sample, upload, yfinance, exchange or a file name")
    bars = serializers.IntegerField()
    resolved = serializers.DictField(help_text="every setting with its default filled in")
    open_position = serializers.DictField(
        allow_null=True, required=False, help_text="the round trip still open at the end"
    )
    replay = serializers.DictField(required=False, help_text='"data": "exchange" only')


class BacktestMetricsSerializer(serializers.Serializer):
    """Headline metrics (algo_trading.metrics.METRIC_KEYS); percents are in percent; null when
    undefined (no trades, no volatility)."""

    total_return_pct = serializers.FloatField(allow_null=True)
    cagr_pct = serializers.FloatField(allow_null=True)
    volatility_pct = serializers.FloatField(allow_null=True)
    sharpe = serializers.FloatField(allow_null=True)
    sortino = serializers.FloatField(allow_null=True)
    max_drawdown_pct = serializers.FloatField(allow_null=True)
    max_drawdown_duration_bars = serializers.IntegerField()
    max_drawdown_duration_days = serializers.FloatField()
    num_trades = serializers.IntegerField()
    win_rate_pct = serializers.FloatField(allow_null=True)
    profit_factor = serializers.FloatField(allow_null=True)
    avg_trade_pnl = serializers.FloatField(allow_null=True)
    exposure_pct = serializers.FloatField()
    buy_hold_return_pct = serializers.FloatField()
    final_equity = serializers.FloatField(allow_null=True)
    total_commission = serializers.FloatField(allow_null=True)
    periods_per_year = serializers.FloatField(allow_null=True)


class BacktestTradeSerializer(serializers.Serializer):
    """One closed round trip of the backtest."""

    entry_time = serializers.DateTimeField()
    exit_time = serializers.DateTimeField()
    side = serializers.ChoiceField(choices=["long", "short"])
    entry_price = serializers.FloatField(allow_null=True)
    exit_price = serializers.FloatField(allow_null=True)
    size = serializers.IntegerField()
    pnl = serializers.FloatField(allow_null=True, help_text="net of commissions")
    return_pct = serializers.FloatField(allow_null=True)
    commission = serializers.FloatField(allow_null=True)
    entry_bar = serializers.IntegerField()
    exit_bar = serializers.IntegerField()


class BacktestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    strategy = serializers.CharField()
    symbol = serializers.CharField()
    params = serializers.DictField(help_text="the strategy's parameters, defaults filled in")
    config = BacktestConfigSerializer()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=BACKTEST_STATUSES)
    error = serializers.CharField(allow_blank=True)
    metrics = BacktestMetricsSerializer()
    num_trades = serializers.IntegerField()
    chart_url = serializers.URLField(allow_null=True, help_text="PNG")
    report_url = serializers.URLField(allow_null=True, help_text="HTML")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class BacktestDetailSerializer(BacktestSerializer):
    trades = BacktestTradeSerializer(many=True)


class LiveRunConfigSerializer(serializers.Serializer):
    bar_seconds = serializers.FloatField()
    cash = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="the equity base the strategy sizes against"
    )
    sizing = serializers.DictField(allow_null=True)
    source = serializers.ChoiceField(choices=LIVE_SOURCES)
    flatten_on_stop = serializers.BooleanField()


class StrategyRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    stop_url = serializers.URLField()
    strategy = serializers.CharField()
    symbol = serializers.CharField()
    params = serializers.DictField(help_text="the strategy's parameters, defaults filled in")
    config = LiveRunConfigSerializer()
    origin = serializers.ChoiceField(choices=["api", "cli"])
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    error = serializers.CharField(allow_blank=True)
    client_order_id_prefix = serializers.CharField(help_text='its orders\' ids: "run<id>-<n>"')
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    bars = serializers.IntegerField()
    orders = serializers.IntegerField()
    fills = serializers.IntegerField()
    rejects = serializers.IntegerField()
    last_reject = serializers.CharField(allow_blank=True)
    position = serializers.IntegerField()
    avg_cost = price_field()
    realized_pnl = money_field()
    unrealized_pnl = money_field()
    pnl = money_field()
    last_price = price_field(allow_null=True)


# ---------------------------------------------------------------------------- market data


class QuoteSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    price = price_field(allow_null=True, help_text="last trade (or the feed's, or reference) price")
    bid = price_field(allow_null=True)
    ask = price_field(allow_null=True)
    volume = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    source = serializers.CharField(
        help_text="exchange (our last trade), a feed's name (simulated, yfinance, ...), "
        "last_trade or reference (before any quote)"
    )


class QuoteErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="e.g. unknown symbol 'ZZZ'")


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="QuoteOrError",
        serializers=[QuoteSerializer, QuoteErrorSerializer],
        resource_type_field_name=None,
    )
)
class QuoteOrErrorField(serializers.JSONField):
    pass


class MarketDataSerializer(serializers.Serializer):
    data = serializers.DictField(
        child=QuoteOrErrorField(), help_text="each symbol asked for (upper case) -> its quote"
    )


MARKET_DATA_EXAMPLE = OpenApiExample(
    "quotes",
    value={
        "data": {
            "AAPL": {
                "symbol": "AAPL",
                "price": "190.00",
                "bid": "189.99",
                "ask": "190.01",
                "volume": 1200,
                "timestamp": "2026-11-23T12:06:25.568799+00:00",
                "source": "exchange",
            },
            "ZZZ": {"error": "unknown symbol 'ZZZ'"},
        }
    },
    response_only=True,
    status_codes=["200"],
)


class MarketDataViewSchema(OpenApiViewExtension):
    """POST /api/market-data/'s responses (the view itself lives in views.py)."""

    target_class = "trading_app.api.views.MarketDataView"

    def view_replacement(self):
        return extend_schema_view(
            post=extend_schema(
                responses={
                    200: MarketDataSerializer,
                    **errors(
                        (
                            400,
                            None,
                            {
                                "symbols": {
                                    "0": ["Ensure this field has no more than 16 characters."]
                                }
                            },
                        ),
                        401,
                        (403, CSRF_ONLY, CSRF_EXAMPLE),
                    ),
                },
                examples=[MARKET_DATA_EXAMPLE],
            )
        )(type("MarketDataView", (self.target_class,), {}))
