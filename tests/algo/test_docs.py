"""The strategy example in docs/strategies.md must run as written."""

import re
from pathlib import Path

from algo_trading import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def test_strategy_example_runs(capsys):
    text = DOC.read_text()
    section = text[text.index("## Writing a strategy") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    try:
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
        result = namespace["result"]
        assert result.strategy == "dip_buyer"
        assert result.metrics["num_trades"] > 0
        assert capsys.readouterr().out.strip()
    finally:
        registry.unregister("dip_buyer")
