"""Reads of saved trade analyses (the page shows what was saved; running one is a service)."""

from __future__ import annotations

from datetime import date

from django.conf import settings

from trading_app.models import TradeAnalysis


def saved_analysis(day: date, bucket: str | None = None) -> TradeAnalysis | None:
    """The day's saved analysis of `bucket` (default TRADE_EXPORT_BUCKET), if any."""
    bucket = bucket or settings.TRADE_EXPORT_BUCKET
    return TradeAnalysis.objects.filter(date=day, bucket=bucket, status_code=200).first()


def latest_analysis_date(bucket: str | None = None) -> date | None:
    """The most recent day with a saved analysis: what the page shows when asked for no day."""
    bucket = bucket or settings.TRADE_EXPORT_BUCKET
    return (
        TradeAnalysis.objects.filter(bucket=bucket, status_code=200)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
