"""Strategy REST views: the registry, backtests (run and stored), live strategy runs.

Logic lives in ``algo_trading`` (the pure framework) and ``algo_trading.django_adapters``
(storage, live runs); these views parse, call, and render. Everyone sees only their own
backtests and runs (staff may also open any backtest's chart and report, for the admin).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from algo_trading import registry
from algo_trading.costs import CostConfigError, commission_from_spec, slippage_from_spec
from algo_trading.data import DataError
from algo_trading.django_adapters.backtests import BacktestRequest, commission_spec, run_and_store
from algo_trading.django_adapters.history import (
    HistoryUnavailable,
    bars_from_text,
    sample_bars,
    select_range,
    yahoo_bars,
)
from algo_trading.django_adapters.recorded import (
    DEFAULT_BAR_SECONDS,
    ReplayError,
    UnknownSymbol,
    Window,
    as_utc,
    exchange_bars,
    replay_info,
)
from algo_trading.django_adapters.runs import (
    LiveConfig,
    RunRequestError,
    create_run,
    manager,
    request_stop,
    validate_run,
)
from algo_trading.live.session import SOURCES
from algo_trading.params import ParameterError
from algo_trading.registry import UnknownStrategyError
from algo_trading.runner import MAX_CASH
from algo_trading.sizing import sizer_from_spec
from trading_app.api.fields import RejectUnknownFieldsMixin
from trading_app.api.openapi import (
    CSRF_EXAMPLE,
    CSRF_ONLY,
    PAGE_ERRORS,
    BacktestDetailSerializer,
    BacktestSerializer,
    StrategyRunSerializer,
    StrategySerializer,
    errors,
)
from trading_app.api.parsers import DecimalJSONParser
from trading_app.models import BacktestRun, StrategyRun
from trading_app.money import format_price
from trading_app.risk.portfolio import money
from trading_app.services.accounts import account_for_user

MAX_CSV_CHARS = 5_000_000
MAX_ACTIVE_RUNS = 5
NO_BACKTEST = (404, "no backtest of yours with that id", {"detail": "no such backtest"})
NO_FILE = (404, "no such backtest (staff: anyone's), or it has no such file")
NO_RUN = (404, "no run of yours with that id", {"detail": "no such strategy run"})
DATA_HINT = 'send "data": CSV text with Date,Open,High,Low,Close,Volume columns, or "sample"'


#: Decimals of this many whole digits or more become floats, not ints: no count comes near it,
#: and int(Decimal("1e999999")) alone would take a minute of CPU
MAX_INT_DIGITS = 18


def plain(value: Any, name: str = "") -> Any:
    """JSON numbers arrive as Decimal (DecimalJSONParser); the strategy layer takes floats and
    ints. NaN, infinities and numbers beyond a float's range raise ValueError, naming the key
    they are under (``rate_pct: must be a finite number``); range checks are the models'."""
    where = f"{name}: " if name else ""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{where}must be a finite number")
        if (
            value.as_tuple().exponent >= 0
            and value.adjusted() < MAX_INT_DIGITS
            and value == value.to_integral_value()
        ):
            return int(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(
                f"{where}must be a finite number (at most 1.7e308), got {str(value)[:40]}"
            )
        return number
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}must be a finite number")
    if isinstance(value, dict):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, name) for v in value]
    return value


class PlainJSONField(serializers.JSONField):
    """Any JSON value, with Decimals made plain numbers (DRF's JSONField refuses Decimals)."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return plain(data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class StrategyListView(APIView):
    """The registered strategies and their parameters (types, defaults, bounds)."""

    @extend_schema(
        responses={200: StrategySerializer(many=True), **errors(401)},
        summary="Registered strategies",
    )
    def get(self, request):
        return Response(registry.list())


# ------------------------------------------------------------------------------ backtests


CASH_LIMIT = f"must be an amount from 1 to {MAX_CASH} with at most 2 decimal places"


class BacktestCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    strategy = serializers.CharField(max_length=64, help_text="a name from /api/strategies/")
    symbol = serializers.CharField(max_length=16, default="AAPL")
    params = PlainJSONField(required=False, default=dict)
    start = serializers.DateField(required=False, allow_null=True)
    end = serializers.DateField(required=False, allow_null=True)
    cash = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        default=Decimal("100000"),
        min_value=Decimal("1"),
        max_value=Decimal(MAX_CASH),
        error_messages={
            key: CASH_LIMIT for key in ("max_value", "min_value", "max_digits", "max_whole_digits")
        },
        help_text=f"starting cash, 1 to {MAX_CASH}",
    )
    commission = PlainJSONField(
        required=False,
        allow_null=True,
        help_text='percent of notional (0.1 = 0.1%) or {"model": "per_share", "rate": 0.005}',
    )
    slippage = PlainJSONField(required=False, allow_null=True)
    sizing = PlainJSONField(required=False, allow_null=True)
    engine = serializers.ChoiceField(choices=["auto", "event", "vectorised"], default="auto")
    data = serializers.CharField(
        required=False,
        allow_blank=False,
        max_length=MAX_CSV_CHARS,
        trim_whitespace=False,
        help_text='CSV text (Date,Open,High,Low,Close,Volume), "sample", or "exchange" (bars '
        "from the trades our exchange recorded for symbol); omit for yfinance",
    )
    bar_seconds = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0.001,
        max_value=86_400,
        help_text=f'bar length for "data": "exchange" (default {DEFAULT_BAR_SECONDS:g})',
    )

    def validate_symbol(self, value: str) -> str:
        value = value.strip().upper()
        if not value or not all(c.isalnum() or c in ".-^=" for c in value):
            raise ValidationError("must be a ticker symbol such as AAPL")
        return value

    def validate(self, attrs: dict) -> dict:
        params = attrs.get("params") or {}
        if not isinstance(params, dict):
            raise ValidationError({"params": ["must be an object of name: value"]})
        try:
            registry.create(attrs["strategy"], params)
        except UnknownStrategyError as exc:
            raise ValidationError({"strategy": [str(exc)]}) from None
        except ParameterError as exc:
            raise ValidationError({"params": [str(exc)]}) from None
        attrs["params"] = params
        try:
            attrs["commission"] = commission_spec(attrs.get("commission"))
            commission_from_spec(attrs["commission"])
        except (CostConfigError, ValueError, TypeError) as exc:
            raise ValidationError({"commission": [str(exc)]}) from None
        for name, check in (("slippage", slippage_from_spec), ("sizing", sizer_from_spec)):
            value = attrs.get(name)
            if value is not None and not isinstance(value, dict):
                raise ValidationError({name: ['must be an object such as {"model": ...}']})
            try:
                check(value)
            except (CostConfigError, ValueError, TypeError) as exc:
                raise ValidationError({name: [str(exc)]}) from None
            attrs[name] = value
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start > end:
            raise ValidationError({"end": [f"must not be before start ({start})"]})
        attrs["replay"] = None
        if (attrs.get("data") or "").strip().lower() == "exchange":
            attrs["bars"], attrs["replay"] = self._exchange_bars(attrs)
            attrs["data_label"] = "exchange"
            return attrs
        if attrs.get("bar_seconds") is not None:
            raise ValidationError({"bar_seconds": ['applies to "data": "exchange" only']})
        attrs["bars"], attrs["data_label"] = self._bars(attrs)
        return attrs

    def _exchange_bars(self, attrs: dict):
        """Bars from the exchange's recorded trades of ``symbol`` (start and end: whole days)."""
        seconds = attrs.get("bar_seconds") or DEFAULT_BAR_SECONDS
        window = Window(as_utc(attrs.get("start")), as_utc(attrs.get("end"), is_end=True))
        try:
            frame, executions = exchange_bars(
                attrs["symbol"], seconds, window, start_name="start", end_name="end"
            )
        except UnknownSymbol as exc:
            raise ValidationError({"symbol": [str(exc)]}) from None
        except ReplayError as exc:
            raise ValidationError({"data": [str(exc)]}) from None
        self._check_cap(frame)
        return frame, replay_info(seconds, window, executions)

    @staticmethod
    def _check_cap(frame) -> None:
        cap = settings.BACKTEST_API_MAX_BARS
        if len(frame) > cap:
            raise ValidationError(
                {
                    "data": [
                        f"{len(frame)} bars; a request may backtest at most {cap} (use "
                        "`manage.py backtest` for larger runs)"
                    ]
                }
            )

    def _bars(self, attrs: dict):
        data, start, end = attrs.get("data"), attrs.get("start"), attrs.get("end")
        try:
            if data is None:
                if start is None or end is None:
                    raise ValidationError(
                        {
                            "data": [
                                f"without data, give start and end to download bars; or {DATA_HINT}"
                            ]
                        }
                    )
                frame, label = yahoo_bars(attrs["symbol"], start, end, hint=DATA_HINT), "yfinance"
            elif data.strip().lower() == "sample":
                frame, label = sample_bars(), "sample"
            else:
                frame, label = bars_from_text(data), "upload"
        except HistoryUnavailable as exc:
            raise ValidationError({"data": [str(exc)]}) from None
        except DataError as exc:
            raise ValidationError({"data": [str(exc).replace("<csv>: ", "")]}) from None
        try:
            frame = select_range(frame, start, end)
        except DataError as exc:
            raise ValidationError(
                {"start" if start else "end" if end else "data": [str(exc)]}
            ) from None
        self._check_cap(frame)
        return frame, label


def _file_url(request, name: str, run: BacktestRun, field) -> str | None:
    if not field:
        return None
    return request.build_absolute_uri(reverse(name, args=[run.pk]))


def backtest_payload(request, run: BacktestRun, *, trades: bool) -> dict:
    out = {
        "id": run.pk,
        "url": request.build_absolute_uri(reverse("backtest-detail", args=[run.pk])),
        "strategy": run.strategy,
        "symbol": run.symbol,
        "params": run.params,
        "config": run.config,
        "start": run.start,
        "end": run.end,
        "status": run.status,
        "error": run.error,
        "metrics": run.metrics,
        "num_trades": len(run.trades or []),
        "chart_url": _file_url(request, "backtest-chart", run, run.chart),
        "report_url": _file_url(request, "backtest-report", run, run.report),
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }
    if trades:
        out["trades"] = run.trades
    return out


BACKTEST_EXAMPLE = OpenApiExample(
    "MA crossover on the sample bars",
    value={
        "strategy": "ma_crossover",
        "symbol": "AAPL",
        "params": {"fast": 10, "slow": 30},
        "start": "2023-01-01",
        "end": "2024-12-31",
        "cash": "100000",
        "commission": 0.1,
        "data": "sample",
    },
    request_only=True,
)


class BacktestListView(generics.GenericAPIView):
    """Your backtests (GET) or run a new one synchronously (POST)."""

    parser_classes = [DecimalJSONParser]
    serializer_class = BacktestCreateSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BacktestRun.objects.none()
        return BacktestRun.objects.filter(created_by=self.request.user).order_by(
            "-created_at", "-id"
        )

    @extend_schema(
        responses={200: BacktestSerializer(many=True), **errors(*PAGE_ERRORS, 401)},
        summary="Your backtests, newest first",
        operation_id="backtests_list",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        rows = [backtest_payload(request, run, trades=False) for run in page]
        return self.get_paginated_response(rows)

    @extend_schema(
        request=BacktestCreateSerializer,
        responses={
            201: BacktestSerializer,
            **errors(
                (
                    400,
                    None,
                    {"strategy": ["unknown strategy 'nope'; available: ma_crossover, ..."]},
                ),
                401,
                (403, CSRF_ONLY, CSRF_EXAMPLE),
            ),
        },
        examples=[BACKTEST_EXAMPLE],
        summary="Run a backtest (synchronously) and store it",
    )
    def post(self, request):
        body = BacktestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        v = body.validated_data
        backtest = BacktestRequest(
            strategy=v["strategy"],
            symbol=v["symbol"],
            params=v["params"],
            start=v.get("start"),
            end=v.get("end"),
            cash=float(v["cash"]),
            commission=v.get("commission"),
            slippage=v.get("slippage"),
            sizing=v.get("sizing"),
            engine=v["engine"],
            data_label=v["data_label"],
            replay=v["replay"],
        )
        try:
            run, _result = run_and_store(backtest, v["bars"], user=request.user)
        except (ParameterError, DataError, CostConfigError, ValueError) as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        return Response(
            backtest_payload(request, run, trades=False), status=status.HTTP_201_CREATED
        )


def _own_backtest(request, pk: int, *, staff_too: bool = False) -> BacktestRun:
    run = BacktestRun.objects.filter(pk=pk).first()
    if run is None or (
        run.created_by_id != request.user.pk and not (staff_too and request.user.is_staff)
    ):
        raise NotFound("no such backtest")
    return run


class BacktestDetailView(APIView):
    @extend_schema(
        responses={200: BacktestDetailSerializer, **errors(401, NO_BACKTEST)},
        summary="A backtest: metrics, trades, chart and report",
    )
    def get(self, request, pk: int):
        return Response(backtest_payload(request, _own_backtest(request, pk), trades=True))


class BacktestChartView(APIView):
    @extend_schema(
        responses={(200, "image/png"): bytes, **errors(401, NO_FILE)},
        summary="The backtest's PNG chart",
    )
    def get(self, request, pk: int):
        run = _own_backtest(request, pk, staff_too=True)
        if not run.chart:
            raise NotFound("this backtest has no chart")
        return FileResponse(run.chart.open("rb"), content_type="image/png")


class BacktestReportView(APIView):
    @extend_schema(
        responses={(200, "text/html"): str, **errors(401, NO_FILE)},
        summary="The backtest's HTML report",
    )
    def get(self, request, pk: int):
        run = _own_backtest(request, pk, staff_too=True)
        if not run.report:
            raise NotFound("this backtest has no report")
        return FileResponse(run.report.open("rb"), content_type="text/html; charset=utf-8")


# ------------------------------------------------------------------------------ live runs


class StrategyRunCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    strategy = serializers.CharField(max_length=64, help_text="a name from /api/strategies/")
    symbol = serializers.CharField(max_length=16)
    params = PlainJSONField(required=False, default=dict)
    bar_seconds = serializers.FloatField(default=5.0, min_value=0.5, max_value=86_400)
    cash = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        default=Decimal("100000"),
        min_value=Decimal("1"),
        help_text="the cash the strategy sizes against (its equity base), not a transfer",
    )
    qty = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    sizing = PlainJSONField(required=False, allow_null=True)
    source = serializers.ChoiceField(choices=list(SOURCES), default="both")
    flatten_on_stop = serializers.BooleanField(default=False)


def run_payload(request, run: StrategyRun) -> dict:
    return {
        "id": run.pk,
        "url": request.build_absolute_uri(reverse("strategy-run-detail", args=[run.pk])),
        "stop_url": request.build_absolute_uri(reverse("strategy-run-stop", args=[run.pk])),
        "strategy": run.strategy,
        "symbol": run.symbol,
        "params": run.params,
        "config": run.config,
        "origin": run.origin,
        "status": run.status,
        "error": run.error,
        "client_order_id_prefix": run.client_order_prefix,
        "started_at": run.started_at,
        "stopped_at": run.stopped_at,
        "updated_at": run.updated_at,
        "bars": run.bars,
        "orders": run.orders,
        "fills": run.fills,
        "rejects": run.rejects,
        "last_reject": run.last_reject,
        "position": run.position,
        "avg_cost": format_price(run.avg_cost),
        "realized_pnl": money(run.realized_pnl),
        "unrealized_pnl": money(run.unrealized_pnl),
        "pnl": money(run.pnl),
        "last_price": format_price(run.last_price),
    }


class StrategyRunListView(generics.GenericAPIView):
    """Your live strategy runs (GET) or start one under your account (POST)."""

    parser_classes = [DecimalJSONParser]
    serializer_class = StrategyRunCreateSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StrategyRun.objects.none()
        return StrategyRun.objects.filter(account=account_for_user(self.request.user))

    @extend_schema(
        responses={200: StrategyRunSerializer(many=True), **errors(*PAGE_ERRORS, 401)},
        summary="Your live strategy runs, newest first",
        operation_id="strategies_runs_list",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([run_payload(request, run) for run in page])

    @extend_schema(
        request=StrategyRunCreateSerializer,
        responses={
            201: StrategyRunSerializer,
            **errors(
                (400, None, {"qty": ["give qty or sizing, not both"]}),
                401,
                (403, CSRF_ONLY, CSRF_EXAMPLE),
                (
                    409,
                    f"{MAX_ACTIVE_RUNS} runs of yours are active already, or this process has no "
                    "strategy runner (the API's live runs run inside `manage.py serve`)",
                    {"detail": "5 runs are active; stop one first (at most 5)"},
                ),
            ),
        },
        summary="Start a strategy live on the exchange under your account",
        examples=[
            OpenApiExample(
                "MA crossover on 5-second bars",
                value={
                    "strategy": "ma_crossover",
                    "symbol": "AAPL",
                    "params": {"fast": 3, "slow": 8},
                    "bar_seconds": 5,
                    "qty": 10,
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        body = StrategyRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        v = body.validated_data
        sizing = v.get("sizing")
        if v.get("qty") is not None:
            if sizing is not None:
                raise ValidationError({"qty": ["give qty or sizing, not both"]})
            sizing = {"model": "fixed", "quantity": v["qty"]}
        if sizing is not None and not isinstance(sizing, dict):
            raise ValidationError({"sizing": ['must be an object such as {"model": "fixed", ...}']})
        params = v.get("params") or {}
        config = LiveConfig(
            bar_seconds=v["bar_seconds"],
            cash=str(v["cash"]),
            sizing=sizing,
            source=v["source"],
            flatten_on_stop=v["flatten_on_stop"],
        )
        account = account_for_user(request.user)
        try:
            validate_run(v["strategy"], v["symbol"], params, config)
        except RunRequestError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        if not manager.available:
            return Response(
                {
                    "detail": "no strategy runner in this process: live runs started through the "
                    "API run inside `manage.py serve` (make run); from a shell use "
                    "`manage.py run_strategy`"
                },
                status=status.HTTP_409_CONFLICT,
            )
        active = StrategyRun.objects.filter(account=account, status__in=StrategyRun.ACTIVE).count()
        if active >= MAX_ACTIVE_RUNS:
            return Response(
                {"detail": f"{active} runs are active; stop one first (at most {MAX_ACTIVE_RUNS})"},
                status=status.HTTP_409_CONFLICT,
            )
        run = create_run(account, v["strategy"], v["symbol"], params, config, origin="api")
        transaction.on_commit(lambda: manager.start(run.pk))
        return Response(run_payload(request, run), status=status.HTTP_201_CREATED)


def _own_run(request, pk: int) -> StrategyRun:
    run = StrategyRun.objects.filter(pk=pk, account__user=request.user).first()
    if run is None:
        raise NotFound("no such strategy run")
    return run


class StrategyRunDetailView(APIView):
    @extend_schema(
        responses={200: StrategyRunSerializer, **errors(401, NO_RUN)},
        summary="A live run: status, counters, position, P&L",
    )
    def get(self, request, pk: int):
        return Response(run_payload(request, _own_run(request, pk)))


class StrategyRunStopView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(StrategyRunSerializer, "stop requested: the run was active"),
            200: OpenApiResponse(StrategyRunSerializer, "the run had stopped (or failed) already"),
            **errors(401, (403, CSRF_ONLY, CSRF_EXAMPLE), NO_RUN),
        },
        summary="Stop a live run",
    )
    def post(self, request, pk: int):
        run = _own_run(request, pk)
        was_active = run.is_active
        run = request_stop(run)
        code = status.HTTP_202_ACCEPTED if was_active else status.HTTP_200_OK
        return Response(run_payload(request, run), status=code)
