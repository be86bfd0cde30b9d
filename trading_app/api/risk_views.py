"""Risk REST views: limits, the kill switch, portfolio and risk metrics. Logic lives in trading_app.risk.

Who may do what:
- an account's owner reads its own limits, portfolio and metrics, and may halt/resume itself
  (not a halt the daily loss limit imposed: staff lift those);
- staff read any account (?account=USERNAME), change limits (PATCH), halt/resume any account
  and the whole exchange.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from trading_app.api.openapi import (
    CSRF,
    EquityHistorySerializer,
    HaltScopeSerializer,
    HaltStateSerializer,
    PortfolioSerializer,
    RiskLimitsChangeSerializer,
    RiskLimitsSerializer,
    RiskMetricsSerializer,
    errors,
)
from trading_app.api.parsers import DecimalJSONParser
from trading_app.models import Account, EquitySnapshot, ExchangeStatus, RiskLimits
from trading_app.risk import halts
from trading_app.risk.limits import (
    LIMIT_FIELDS,
    LimitsValidationError,
    defaults,
    overrides_of,
    resolve,
    validate_overrides,
)
from trading_app.risk.portfolio import money, portfolio
from trading_app.risk.report import risk_metrics
from trading_app.services.accounts import account_for_user

ACCOUNT_PARAM = OpenApiParameter(
    "account", str, description="USERNAME of another account (staff only); default: your own"
)
#: the errors of an operation on "your account, or (staff) the one named"
NOT_STAFF = (403, "another account named by a caller who is not staff")
NO_ACCOUNT = (404, "no account of that username", {"detail": "no account 'nobody'"})


def _text(value: Any) -> Any:
    """Decimals as strings (the API never renders money as a float); ints stay ints."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _is_staff(request) -> bool:
    return bool(request.user and request.user.is_staff)


def target_account(request, username: str | None = None) -> Account:
    """The caller's own account, or (staff only) the account named by `username`."""
    if username is None:
        username = request.query_params.get("account")
    if not username or username == request.user.get_username():
        return account_for_user(request.user)
    if not _is_staff(request):
        raise PermissionDenied("only staff may act on another account")
    account = Account.objects.select_related("user").filter(user__username=username).first()
    if account is None:
        raise NotFound(f"no account {username!r}")
    return account


def limits_payload(account: Account) -> dict:
    row = RiskLimits.objects.filter(account=account).first()
    overrides = overrides_of(row)
    base = defaults()
    effective = resolve(overrides, base)
    exchange = ExchangeStatus.objects.filter(pk=1).first()
    return {
        "account": account.user.get_username(),
        "limits": {k: _text(v) for k, v in effective.as_dict().items()},
        "overrides": {k: _text(v) for k, v in overrides.items()},
        "defaults": {k: _text(v) for k, v in base.items()},
        "halted": account.halted,
        "halted_reason": account.halted_reason,
        "exchange_halted": bool(exchange and exchange.halted),
        "exchange_halted_reason": exchange.reason if exchange and exchange.halted else "",
    }


class RiskLimitsView(APIView):
    parser_classes = [DecimalJSONParser]

    @extend_schema(
        parameters=[ACCOUNT_PARAM],
        responses={200: RiskLimitsSerializer, **errors(401, NOT_STAFF, NO_ACCOUNT)},
    )
    def get(self, request):
        """Effective limits (defaults with this account's overrides), the overrides, the defaults."""
        return Response(limits_payload(target_account(request)))

    @extend_schema(
        parameters=[ACCOUNT_PARAM],
        request=RiskLimitsChangeSerializer,
        responses={
            200: RiskLimitsSerializer,
            **errors(
                (400, None, {"max_order_qty": ["must be a whole number or null"]}),
                401,
                (
                    403,
                    "the caller is not staff" + CSRF,
                    {"detail": "only staff may change risk limits"},
                ),
                NO_ACCOUNT,
            ),
        },
        examples=[
            OpenApiExample(
                "tighten", value={"max_order_qty": 50, "price_collar_pct": "5"}, request_only=True
            ),
            OpenApiExample("back to default", value={"max_order_qty": None}, request_only=True),
        ],
        description=f"Staff only. Fields: {', '.join(LIMIT_FIELDS)}; null restores the default.",
    )
    def patch(self, request):
        if not _is_staff(request):
            raise PermissionDenied("only staff may change risk limits")
        account = target_account(request)
        try:
            cleaned = validate_overrides(request.data)
        except LimitsValidationError as exc:
            raise ValidationError(exc.errors) from None
        row, _ = RiskLimits.objects.get_or_create(account=account)
        for name, value in cleaned.items():
            setattr(row, name, value)
        row.save()
        return Response(limits_payload(account))


def _scope_request(request) -> tuple[str, Account | None, str]:
    data = request.data if isinstance(request.data, dict) else {}
    scope = data.get("scope")
    if scope not in ("account", "exchange"):
        raise ValidationError({"scope": ['must be "account" or "exchange"']})
    reason = data.get("reason") or ""
    if not isinstance(reason, str):
        raise ValidationError({"reason": ["must be a string"]})
    if scope == "exchange":
        if not _is_staff(request):
            raise PermissionDenied("only staff may halt or resume the exchange")
        return scope, None, reason
    username = data.get("account")
    if username is not None and not isinstance(username, str):
        raise ValidationError({"account": ["must be a username"]})
    return scope, target_account(request, username), reason


HALT_EXAMPLES = [
    OpenApiExample("my account", value={"scope": "account"}, request_only=True),
    OpenApiExample(
        "another account (staff)",
        value={"scope": "account", "account": "alice", "reason": "investigating"},
        request_only=True,
    ),
    OpenApiExample("the exchange (staff)", value={"scope": "exchange"}, request_only=True),
]


HALT_RESPONSES = {
    200: HaltStateSerializer,
    **errors(
        (400, None, {"scope": ['must be "account" or "exchange"']}),
        401,
        (
            403,
            "scope exchange, or another account, asked by a caller who is not staff" + CSRF,
            {"detail": "only staff may halt or resume the exchange"},
        ),
        NO_ACCOUNT,
    ),
}


class HaltView(APIView):
    parser_classes = [DecimalJSONParser]

    @extend_schema(
        request=HaltScopeSerializer,
        responses=HALT_RESPONSES,
        examples=[
            *HALT_EXAMPLES,
            OpenApiExample(
                "account halted",
                value={
                    "scope": "account",
                    "account": "alice",
                    "halted": True,
                    "reason": "trading is halted for this account (by alice)",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request):
        """Kill switch: flag the scope halted, cancel all its open orders, reject new ones."""
        scope, account, reason = _scope_request(request)
        who = request.user.get_username()
        if account is None:
            halts.halt_exchange(reason or f"{halts.DEFAULT_EXCHANGE_REASON} (by {who})")
            status = ExchangeStatus.get()
            return Response({"scope": scope, "halted": True, "reason": status.reason})
        halts.halt_account(account.id, reason or f"{halts.DEFAULT_ACCOUNT_REASON} (by {who})")
        account.refresh_from_db()
        return Response(
            {
                "scope": scope,
                "account": account.user.get_username(),
                "halted": True,
                "reason": account.halted_reason,
            }
        )


class ResumeView(APIView):
    parser_classes = [DecimalJSONParser]

    @extend_schema(request=HaltScopeSerializer, responses=HALT_RESPONSES, examples=HALT_EXAMPLES)
    def post(self, request):
        """Clear a halt: new orders are accepted again from the matching worker's next batch."""
        scope, account, _reason = _scope_request(request)
        if account is None:
            halts.resume_exchange()
            return Response({"scope": scope, "halted": False})
        try:
            halts.resume_account(account.id, by_staff=_is_staff(request))
        except halts.ResumeRefused as exc:
            raise PermissionDenied(str(exc)) from None
        return Response({"scope": scope, "account": account.user.get_username(), "halted": False})


class PortfolioView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAM],
        responses={200: PortfolioSerializer, **errors(401, NOT_STAFF, NO_ACCOUNT)},
    )
    def get(self, request):
        """Positions with average cost, realized and unrealized P&L, exposure and equity."""
        return Response(portfolio(target_account(request)))


class EquityHistoryView(APIView):
    @extend_schema(
        parameters=[
            ACCOUNT_PARAM,
            OpenApiParameter("limit", int, description="1-5000, default 500"),
        ],
        responses={
            200: EquityHistorySerializer,
            **errors(
                (400, None, {"limit": ["must be a whole number from 1 to 5000"]}),
                401,
                NOT_STAFF,
                NO_ACCOUNT,
            ),
        },
    )
    def get(self, request):
        """Account equity over time (the snapshots the worker writes), oldest first."""
        account = target_account(request)
        raw = request.query_params.get("limit", "500")
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 5000:
            raise ValidationError({"limit": ["must be a whole number from 1 to 5000"]})
        limit = int(raw)
        rows = list(
            EquitySnapshot.objects.filter(account=account)
            .order_by("-timestamp")
            .values_list("timestamp", "equity", "cash", "market_value", "gross_exposure")[:limit]
        )
        rows.reverse()
        return Response(
            {
                "account": account.user.get_username(),
                "points": [
                    {
                        "timestamp": t.isoformat(),
                        "equity": money(e),
                        "cash": money(c),
                        "market_value": money(m),
                        "gross_exposure": money(g),
                    }
                    for t, e, c, m, g in rows
                ],
            }
        )


class RiskMetricsView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAM],
        responses={200: RiskMetricsSerializer, **errors(401, NOT_STAFF, NO_ACCOUNT)},
    )
    def get(self, request):
        """VaR 95% 1-day (historical, parametric), max drawdown, exposure, position sizes."""
        return Response(risk_metrics(target_account(request)))
