"""Settings from the environment, checked by importing the module in a clean subprocess.

A subprocess leaves the settings of this test run untouched and shows exactly what a fresh
`manage.py` or Daphne would see for a given environment.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = textwrap.dedent(
    """
    import json
    import tradingSim_project.settings as s
    print(json.dumps({
        "DEBUG": s.DEBUG,
        "ENVIRONMENT": s.ENVIRONMENT,
        "SECRET_KEY_IS_DEFAULT": s.SECRET_KEY == s.DEFAULT_SECRET_KEY,
        "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
        "PORT": s.PORT,
        "DB_ENGINE": s.DATABASES["default"]["ENGINE"],
        "DB_NAME": str(s.DATABASES["default"]["NAME"]),
        "DB_HOST": s.DATABASES["default"].get("HOST", ""),
        "DB_PORT": s.DATABASES["default"].get("PORT", ""),
        "CHANNEL_BACKEND": s.CHANNEL_LAYERS["default"]["BACKEND"],
        "CHANNEL_HOSTS": s.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
        "CACHE_BACKEND": s.CACHES["default"]["BACKEND"],
        "CACHE_LOCATION": s.CACHES["default"].get("LOCATION", ""),
        "LOG_ROOT_LEVEL": s.LOGGING["root"]["level"],
        "LOG_FORMATTER": s.LOGGING["handlers"]["console"]["formatter"],
        "RENDERERS": s.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
    }))
    """
)

# Every variable settings.py reads is cleared, so that the machine's environment cannot leak in.
CONTROLLED = [
    "ENVIRONMENT",
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "PORT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "DJANGO_SETTINGS_MODULE",
]


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean["TRADINGSIM_VAR_DIR"] = str(tmp_path / "var")
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_for(tmp_path, **env) -> dict:
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_nothing_set_is_the_embedded_default(tmp_path):
    s = settings_for(tmp_path)
    assert s["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert s["DB_NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert s["CHANNEL_BACKEND"] == "websocket_app.gateway.memory_layer.InMemoryChannelLayer"
    assert s["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["DEBUG"] is True
    assert s["ENVIRONMENT"] == "development"
    assert s["PORT"] == 8000
    assert (tmp_path / "var").is_dir()


def test_database_url_selects_postgresql(tmp_path):
    s = settings_for(tmp_path, DATABASE_URL="postgres://trader:pw@db.example:6543/tradingsim")
    assert s["DB_ENGINE"] == "django.db.backends.postgresql"
    assert (s["DB_HOST"], s["DB_PORT"], s["DB_NAME"]) == ("db.example", 6543, "tradingsim")
    assert s["CHANNEL_BACKEND"] == "websocket_app.gateway.memory_layer.InMemoryChannelLayer"


def test_redis_url_selects_channels_redis_and_the_redis_cache(tmp_path):
    s = settings_for(tmp_path, REDIS_URL="redis://127.0.0.1:6390/2")
    assert s["CHANNEL_BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert s["CHANNEL_HOSTS"] == ["redis://127.0.0.1:6390/2"]
    assert s["CACHE_BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert s["CACHE_LOCATION"] == "redis://127.0.0.1:6390/2"
    assert s["DB_ENGINE"] == "django.db.backends.sqlite3"


def test_production_with_debug_on_refuses_to_start(tmp_path):
    result = load_settings(
        tmp_path, ENVIRONMENT="production", DEBUG="1", SECRET_KEY="a-real-secret-" + "x" * 40
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DEBUG" in result.stderr


def test_production_with_the_default_secret_key_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, ENVIRONMENT="production", DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_defaults_debug_off_but_still_wants_a_secret_key(tmp_path):
    result = load_settings(tmp_path, ENVIRONMENT="production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_with_debug_off_and_a_secret_key_loads(tmp_path):
    s = settings_for(
        tmp_path,
        ENVIRONMENT="production",
        DEBUG="false",
        SECRET_KEY="a-real-secret-" + "x" * 40,
        ALLOWED_HOSTS="trading.example.com, api.example.com",
    )
    assert s["DEBUG"] is False
    assert s["SECRET_KEY_IS_DEFAULT"] is False
    assert s["ALLOWED_HOSTS"] == ["trading.example.com", "api.example.com"]
    assert s["RENDERERS"] == ["rest_framework.renderers.JSONRenderer"]


@pytest.mark.parametrize("value,expected", [("1", True), ("yes", True), ("0", False), ("", True)])
def test_debug_flag_parsing_in_development(tmp_path, value, expected):
    assert settings_for(tmp_path, DEBUG=value)["DEBUG"] is expected


def test_port_and_logging_come_from_the_environment(tmp_path):
    s = settings_for(tmp_path, PORT="8123", LOG_LEVEL="debug", LOG_FORMAT="json")
    assert s["PORT"] == 8123
    assert s["LOG_ROOT_LEVEL"] == "DEBUG"
    assert s["LOG_FORMATTER"] == "json"


def test_json_logs_are_one_object_per_line(tmp_path):
    code = (
        "import logging, logging.config, tradingSim_project.settings as s;"
        "logging.config.dictConfig(s.LOGGING);"
        "logging.getLogger('probe').warning('hello %s', 'world', extra={'ctx_order_id': 'o-1'})"
    )
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(TRADINGSIM_VAR_DIR=str(tmp_path / "var"), LOG_FORMAT="json")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["message"] == "hello world"
    assert record["level"] == "WARNING"
    assert record["order_id"] == "o-1"


def test_env_example_lists_every_variable_settings_reads():
    source = (ROOT / "tradingSim_project" / "settings.py").read_text()
    read = set(
        re.findall(
            r'(?:os\.environ\.get|os\.getenv|os\.environ\[|env_bool|env_list)\(?\s*"(\w+)"', source
        )
    )
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert len(read) > 20  # the pattern above still matches how settings.py reads variables
    assert read - documented == set(), "add these to .env.example with a comment"


def test_a_django_log_record_is_printed_once_in_debug(tmp_path):
    """Django's own console handler printed each django.* record again, unformatted."""
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('django.request').warning('Not Found: /nowhere')"
    )
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(
        TRADINGSIM_VAR_DIR=str(tmp_path / "var"),
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="tradingSim_project.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "Not Found: /nowhere" in line]
    assert len(lines) == 1 and " WARNING django.request: " in lines[0], result.stderr
