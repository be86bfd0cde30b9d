"""Commands run before `migrate`, or with the database down, say what to do: no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_settings import CONTROLLED

ROOT = Path(__file__).resolve().parent.parent


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean.update(TRADINGSIM_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "command", [["export_trades", "--date", "2025-01-20"], ["run_matching"], ["bootstrap_demo"]]
)
def test_a_command_on_a_fresh_database_says_to_migrate(tmp_path, command):
    result = manage(tmp_path, *command)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "is not migrated" in result.stderr
    assert "Run `python manage.py migrate`" in result.stderr


def test_a_command_with_the_database_down_says_so(tmp_path):
    result = manage(tmp_path, "export_trades", DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "Cannot use the database (127.0.0.1)" in result.stderr
    assert "Connection refused" in result.stderr
