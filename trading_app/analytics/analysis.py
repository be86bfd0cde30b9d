"""Run the trade-analysis function for a day and keep its result (TradeAnalysis).

With LAMBDA_FUNCTION_NAME set, the deployed function is invoked through boto3 (RequestResponse).
Without it, the very same handler runs in this process, with an S3 client (or the local
directory store) built from Django's settings; nothing is reimplemented here, so the figures are
the function's whichever way it runs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import ModuleType
from typing import Any

from django.conf import settings

from trading_app.analytics.stores import analysis_client
from trading_app.models import TradeAnalysis

log = logging.getLogger(__name__)
_load_lock = threading.Lock()
_handler: ModuleType | None = None
_DAY_RE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


class AnalysisDateError(ValueError):
    """The date cannot be analysed; the message says why (it names the date)."""


@dataclass(frozen=True)
class AnalysisOutcome:
    reply: dict[str, Any]
    invoked_via: str
    record: TradeAnalysis | None

    @property
    def status_code(self) -> int:
        return int(self.reply["statusCode"])


def parse_analysis_date(raw: object, *, today: date | None = None) -> date:
    """A real, not future, YYYY-MM-DD day (UTC); the same strict rule as the function's."""
    if raw in (None, ""):
        raise AnalysisDateError("This field is required: a day as YYYY-MM-DD.")
    text = str(raw)
    if _DAY_RE.fullmatch(text) is None:
        raise AnalysisDateError(f"Invalid date {text[:40]!r}: expected YYYY-MM-DD.")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise AnalysisDateError(f"Invalid date {text!r}: no such day.") from None
    today = today or datetime.now(UTC).date()
    if day > today:
        raise AnalysisDateError(f"{day} is in the future (today is {today} UTC): no trades yet.")
    return day


def handler_module() -> ModuleType:
    """lambda/trade_analysis/handler.py, loaded by path the way the Lambda runtime loads it.

    `lambda` is a Python keyword, so the folder cannot be imported as a package: its root goes
    on sys.path (the modules import each other as top-level `trade_*` names) and handler.py is
    loaded from its file under a name of its own.
    """
    global _handler
    with _load_lock:
        if _handler is None:
            root = settings.BASE_DIR / "lambda" / "trade_analysis"
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            spec = importlib.util.spec_from_file_location(
                "tradingsim_trade_analysis_handler", root / "handler.py"
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _handler = module
        return _handler


def run_analysis(day: date, *, bucket: str | None = None) -> AnalysisOutcome:
    """Analyse `day`'s export; on success, save it as the day's TradeAnalysis (one per bucket).

    Failures (no export, no bucket, S3 down...) come back as the function's statusCode and
    message and are not saved: a failed rerun must not wipe a good analysis.
    """
    bucket = bucket or settings.TRADE_EXPORT_BUCKET
    event = {"date": day.isoformat(), "bucket": bucket}
    if settings.LAMBDA_FUNCTION_NAME:
        reply, via = invoke_lambda(event), "lambda"
    else:
        reply, via = _run_in_process(event)
    record = None
    if reply["statusCode"] == 200:
        record, _ = TradeAnalysis.objects.update_or_create(
            date=day,
            bucket=bucket,
            defaults={
                "key": str(reply.get("key", ""))[:512],
                "status_code": 200,
                "message": str(reply.get("message", ""))[:512],
                "result": reply.get("analysis") or {},
                "invoked_via": via,
            },
        )
    else:
        log.info("analysis of %s in %s: %s %s", day, bucket, reply["statusCode"], reply["message"])
    return AnalysisOutcome(reply=reply, invoked_via=via, record=record)


def _run_in_process(event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    client, kind = analysis_client()
    try:
        reply = handler_module().lambda_handler(event, None, client=client)
    except OSError as exc:  # the local store: a file that cannot be read or written
        log.exception("in-process analysis of %s failed", event)
        reply = {"statusCode": 502, "message": f"Cannot read or write the export: {exc}"}
    return _checked(reply), f"in-process:{kind}"


def lambda_client() -> Any:
    """A Lambda client from settings; the read timeout outlasts the function's 120 s timeout."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        region_name=settings.AWS_REGION,
        config=Config(read_timeout=150, retries={"max_attempts": 3, "mode": "standard"}),
    )


def invoke_lambda(event: dict[str, Any], client: Any = None) -> dict[str, Any]:
    """Invoke the deployed function synchronously and return its reply.

    A function that crashed (FunctionError) or an invoke that failed is a 502: the fault is
    upstream of this app, and the message says where to look.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or lambda_client()
    name = settings.LAMBDA_FUNCTION_NAME
    try:
        response = client.invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        payload = response["Payload"].read()
    except (BotoCoreError, ClientError) as exc:
        log.warning("invoking %s failed: %s", name, exc)
        return {"statusCode": 502, "message": f"Invoking Lambda function {name!r} failed: {exc}"}
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if response.get("FunctionError"):
        detail = body.get("errorMessage") if isinstance(body, dict) else None
        log.warning("Lambda %s raised: %s", name, payload[:2000])
        return {
            "statusCode": 502,
            "message": f"Lambda function {name!r} failed: {detail or response['FunctionError']}"
            " (see its CloudWatch logs)",
        }
    return _checked(body)


def _checked(reply: object) -> dict[str, Any]:
    """The function's reply, or a 502 if it is not the documented shape."""
    if (
        isinstance(reply, dict)
        and isinstance(reply.get("statusCode"), int)
        and isinstance(reply.get("message"), str)
        and (reply["statusCode"] != 200 or isinstance(reply.get("analysis"), dict))
    ):
        if reply["statusCode"] == 403:
            # S3 refused the function, not our caller: for the API client an upstream failure.
            return {**reply, "statusCode": 502}
        return reply
    return {"statusCode": 502, "message": f"Unexpected reply from the analysis: {reply!r:.200}"}
