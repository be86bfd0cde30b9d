"""The trade-analysis page: a saved day's analysis as charts, and a button that runs one.

Reading what was saved is a selector call; running the analysis is the API's job
(GET /api/trade-analysis/), which the page's button calls with the session cookie.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trading_app.analytics.analysis import AnalysisDateError, parse_analysis_date
from trading_app.models import TradeAnalysis
from trading_app.selectors.analytics import latest_analysis_date, saved_analysis

LOGIN_URL = "/web/login/"


def _payload(day: date, record: TradeAnalysis | None) -> dict:
    return {
        "date": day.isoformat(),
        "analysis": record.result if record else None,
        "key": record.key if record else "",
        "bucket": record.bucket if record else "",
        "invoked_via": record.invoked_via if record else "",
        "updated_at": record.updated_at.isoformat() if record else None,
    }


@require_GET
@login_required(login_url=LOGIN_URL)
def analysis_page(request: HttpRequest) -> HttpResponse:
    """?date=YYYY-MM-DD (default: the latest saved day, else today UTC)."""
    today = datetime.now(UTC).date()
    error = ""
    raw = request.GET.get("date")
    if raw:
        try:
            day = parse_analysis_date(raw, today=today)
        except AnalysisDateError as exc:
            error, day = str(exc), today
    else:
        day = latest_analysis_date() or today
    config = {
        **_payload(day, saved_analysis(day)),
        "apiUrl": "/api/trade-analysis/",
        "dataUrl": "/web/analysis/data/",
    }
    return render(
        request,
        "websocket_app/analysis.html",
        {"day": day, "today": today, "error": error, "config": config},
    )


@require_GET
@login_required(login_url=LOGIN_URL)
def analysis_data(request: HttpRequest) -> JsonResponse:
    """The saved analysis of ?date= as JSON (404 when none is saved; 400 naming `date`)."""
    try:
        day = parse_analysis_date(request.GET.get("date"))
    except AnalysisDateError as exc:
        return JsonResponse({"date": [str(exc)]}, status=400)
    record = saved_analysis(day)
    if record is None:
        return JsonResponse(
            {**_payload(day, None), "message": f"No analysis saved for {day}"}, status=404
        )
    return JsonResponse(_payload(day, record))
