"""lambda/template.yaml: valid SAM/CloudFormation, and pointing at what the code really is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "lambda" / "template.yaml"


def test_template_passes_cfn_lint():
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")
    matches = api.lint_file(TEMPLATE)
    assert [str(m) for m in matches] == []


def test_template_matches_the_code():
    text = TEMPLATE.read_text()
    assert re.search(r"^\s+Handler: handler\.lambda_handler$", text, re.M)
    assert re.search(r"^\s+Runtime: python3\.11$", text, re.M)
    assert re.search(r"^\s+CodeUri: \.\./build/trade_analysis\.zip$", text, re.M)
    assert "TRADE_EXPORT_BUCKET: !Ref TradeExportBucketName" in text
    # Least privilege: read only the daily exports, write only under analysis/.
    assert "Action: s3:GetObject" in text and "/????/??/??/trades.csv" in text
    assert "Action: s3:PutObject" in text and "}/analysis/*" in text
    assert "Action: s3:ListBucket" in text
    assert "s3:*" not in text and "Action: '*'" not in text
