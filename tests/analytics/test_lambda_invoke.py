"""The deployed-function path: GET /api/trade-analysis/ with LAMBDA_FUNCTION_NAME set.

moto cannot run Lambda code without Docker, so this is the one place in the suite where an AWS
client is stubbed (botocore.stub.Stubber): it checks the Invoke request we send and feeds back
the replies a real function gives. Everything else talks to moto's server over HTTP.
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from trading_app.analytics import analysis
from trading_app.models import TradeAnalysis

pytestmark = pytest.mark.django_db

FUNCTION = "tradingsim-trade-analysis"
REPLY = {
    "statusCode": 200,
    "message": "Analysis saved for 2025-01-20",
    "key": "analysis/2025/01/20/analysis.json",
    "analysis": {"date": "2025-01-20", "total_trades": 2, "total_volume": 30, "tickers": {}},
}


def payload(document: object) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def stubbed_lambda(settings, monkeypatch, local_store):
    import boto3

    settings.LAMBDA_FUNCTION_NAME = FUNCTION
    client = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(analysis, "lambda_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_invoke(stubber: Stubber, response: dict) -> None:
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, **response},
        {
            "FunctionName": FUNCTION,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"date": "2025-01-20", "bucket": "local-trades"}).encode(),
        },
    )


def test_invokes_the_function_and_saves_its_reply(stubbed_lambda, api):
    expect_invoke(stubbed_lambda, {"Payload": payload(REPLY)})

    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})

    assert response.status_code == 200
    assert response.json() == REPLY
    saved = TradeAnalysis.objects.get(date=date(2025, 1, 20), bucket="local-trades")
    assert saved.invoked_via == "lambda"
    assert saved.key == REPLY["key"]
    assert saved.result == REPLY["analysis"]


def test_the_functions_404_is_passed_on_and_not_saved(stubbed_lambda, api):
    message = "No trades exported for 2025-01-20: run manage.py export_trades --date 2025-01-20"
    expect_invoke(stubbed_lambda, {"Payload": payload({"statusCode": 404, "message": message})})

    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})

    assert response.status_code == 404
    assert response.json()["message"] == message
    assert not TradeAnalysis.objects.exists()


def test_a_crashed_function_is_a_502_that_says_so(stubbed_lambda, api):
    expect_invoke(
        stubbed_lambda,
        {
            "FunctionError": "Unhandled",
            "Payload": payload({"errorMessage": "Task timed out after 120.00 seconds"}),
        },
    )

    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})

    assert response.status_code == 502
    assert "Task timed out" in response.json()["message"]
    assert not TradeAnalysis.objects.exists()


def test_a_refused_invoke_is_a_502_naming_the_function(stubbed_lambda, api):
    stubbed_lambda.add_client_error(
        "invoke", service_error_code="AccessDeniedException", http_status_code=403
    )

    response = api.get("/api/trade-analysis/", {"date": "2025-01-20"})

    assert response.status_code == 502
    assert FUNCTION in response.json()["message"]
