"""`make test`: the whole suite on real PostgreSQL and Redis, then the embedded SQLite default.

Usage: python scripts/run_tests.py [pytest args...]
With pytest args, only the first pass runs, with those args (handy while developing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_servers import log, test_servers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# The embedded default (SQLite file, in-memory channel layer, local-memory cache) is run over the
# parts that touch the database and the channel layer directly.
EMBEDDED_PASS = [
    "tests/api",
    "tests/worker",
    "tests/risk",
    "tests/realtime",
    "tests/strategies",
    "tests/analytics",
    "tests/test_settings.py",
]


def pytest(args: list[str], env: dict[str, str], label: str) -> int:
    log(f"pytest {label}: {' '.join(args)}")
    start = time.monotonic()
    code = subprocess.call([PYTHON, "-m", "pytest", *args], cwd=ROOT, env=env)
    log(f"pytest {label} finished with exit code {code} in {time.monotonic() - start:.0f}s")
    return code


def main(argv: list[str]) -> int:
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")
    }
    base_env["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API beside the ORM in tests
    with test_servers() as servers:
        env = {**base_env, **servers, "TRADINGSIM_TEST_BACKENDS": "postgres+redis"}
        first = pytest(
            argv or ["-p", "no:cacheprovider", "--durations=15", "tests"],
            env,
            "on PostgreSQL + Redis",
        )
    if argv:
        return first
    embedded_env = {**base_env, "TRADINGSIM_TEST_BACKENDS": "embedded"}
    existing = [p for p in EMBEDDED_PASS if (ROOT / p).exists()]
    second = pytest(["-p", "no:cacheprovider", *existing], embedded_env, "on embedded SQLite")
    if first or second:
        log(f"FAILED (PostgreSQL+Redis pass: {first}, embedded pass: {second})")
        return first or second
    log("all passes green")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
