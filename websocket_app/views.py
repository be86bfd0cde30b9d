"""The browser monitor page and the small JSON it polls; everything live comes over WebSockets."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from trading_app.models import Instrument, Order, Trade

RATE_WINDOW_SECONDS = 10


@require_GET
@ensure_csrf_cookie
def monitor(request: HttpRequest) -> HttpResponse:
    """The page; the order ticket shows only for a logged-in user (session cookie)."""
    symbols = list(
        Instrument.objects.filter(active=True).order_by("symbol").values_list("symbol", flat=True)
    )
    ticker = (request.GET.get("ticker") or (symbols[0] if symbols else "AAPL")).upper()
    config = {
        "ticker": ticker,
        "authenticated": request.user.is_authenticated,
        "statsUrl": "/web/monitor/stats/",
        "depth": 25,
    }
    return render(
        request,
        "websocket_app/monitor.html",
        {
            "symbols": symbols,
            "ticker": ticker,
            "rate_window": RATE_WINDOW_SECONDS,
            "config": config,
        },
    )


@require_GET
def stats(request: HttpRequest) -> JsonResponse:
    """Exchange-wide figures for the dashboard: orders/s over the last 10 s, today's trades.

    Two indexed aggregate queries, polled every few seconds by each open page.
    """
    now = timezone.now()
    since = now - timedelta(seconds=RATE_WINDOW_SECONDS)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    orders = Order.objects.filter(created_at__gte=midnight).aggregate(
        today=Count("id"), recent=Count("id", filter=Q(created_at__gte=since))
    )
    trades_today = Trade.objects.filter(
        source="exchange", liquidity="taker", timestamp__gte=midnight
    ).count()
    return JsonResponse(
        {
            "orders_per_second": round(orders["recent"] / RATE_WINDOW_SECONDS, 1),
            "orders_today": orders["today"],
            "trades_today": trades_today,
            "window_seconds": RATE_WINDOW_SECONDS,
            "timestamp": now.isoformat(),
        }
    )


class MonitorLoginView(auth_views.LoginView):
    """A plain login form that comes back to the monitor (the admin login works as well)."""

    template_name = "websocket_app/login.html"
    redirect_authenticated_user = True
    next_page = "/web/monitor/"


class MonitorLogoutView(auth_views.LogoutView):
    next_page = "/web/monitor/"
