"""GET /api/trade-analysis/?date=YYYY-MM-DD: run 003's trade analysis for a day and save it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trading_app.analytics.analysis import AnalysisDateError, parse_analysis_date, run_analysis

REPLY = inline_serializer(
    "TradeAnalysisReply",
    fields={
        "statusCode": serializers.IntegerField(),
        "message": serializers.CharField(),
        "key": serializers.CharField(required=False, help_text="analysis/YYYY/MM/DD/analysis.json"),
        "analysis": serializers.DictField(
            required=False,
            help_text="per-ticker and daily figures; money as decimal strings "
            "(see lambda/README.md)",
        ),
    },
)
FAILURE = inline_serializer(
    "TradeAnalysisFailure",
    fields={"statusCode": serializers.IntegerField(), "message": serializers.CharField()},
)


class TradeAnalysisView(APIView):
    """Runs the trade-analysis function (deployed Lambda, or in-process) on a day's export."""

    @extend_schema(
        summary="Analyse a day's exported trades",
        description=(
            "Runs the trade-analysis function on BUCKET/YYYY/MM/DD/trades.csv (written by "
            "`manage.py export_trades --date D`): the deployed Lambda when LAMBDA_FUNCTION_NAME "
            "is set, else the same handler in-process. A success is saved as the day's "
            "TradeAnalysis (one per day and bucket; visible in the admin) and returned."
        ),
        parameters=[
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                required=True,
                description="UTC day, YYYY-MM-DD; not in the future",
            )
        ],
        responses={
            200: REPLY,
            400: inline_serializer(
                "TradeAnalysisBadDate", fields={"date": serializers.ListField()}
            ),
            403: FAILURE,
            404: FAILURE,
            422: FAILURE,
            502: FAILURE,
        },
        examples=[
            OpenApiExample(
                "saved",
                value={
                    "statusCode": 200,
                    "message": "Analysis saved for 2025-01-20",
                    "key": "analysis/2025/01/20/analysis.json",
                    "analysis": {"date": "2025-01-20", "total_trades": 7, "tickers": {}},
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "no export",
                value={
                    "statusCode": 404,
                    "message": "No trades exported for 2025-01-20: "
                    "run manage.py export_trades --date 2025-01-20",
                },
                response_only=True,
                status_codes=["404"],
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        try:
            day = parse_analysis_date(request.query_params.get("date"))
        except AnalysisDateError as exc:
            raise ValidationError({"date": [str(exc)]}) from None
        outcome = run_analysis(day)
        return Response(outcome.reply, status=outcome.status_code)
