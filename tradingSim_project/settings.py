"""tradingSim settings: 12-factor, every knob an environment variable (see .env.example).

With nothing set, everything runs embedded on one machine: SQLite in var/, the in-memory channel
layer and the local-memory cache. DATABASE_URL and REDIS_URL switch to the real servers.
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tradingSim_project.logging_config import build_logging

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRADINGSIM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEFAULT_SECRET_KEY = "dev-insecure-tradingsim-secret-key-change-me"
ENVIRONMENT = os.environ.get("ENVIRONMENT", "development").lower()
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", ENVIRONMENT != "production")
if ENVIRONMENT == "production":
    if DEBUG:
        raise ImproperlyConfigured("ENVIRONMENT=production refuses to start with DEBUG on.")
    if SECRET_KEY == DEFAULT_SECRET_KEY:
        raise ImproperlyConfigured(
            "ENVIRONMENT=production refuses to start with the default SECRET_KEY: set SECRET_KEY."
        )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", "http://localhost:8000,http://127.0.0.1:8000"
)
PORT = int(os.environ.get("PORT", "8000"))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "trading_app",
    "websocket_app",
]

MIDDLEWARE = [
    # First: serve waits for the requests it counts before stopping the event loop they need.
    "trading_app.inflight.InFlightRequestsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, so that it sees the APPEND_SLASH redirect rather than the 404.
    "trading_app.api.middleware.JsonNotFoundUnderApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tradingSim_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "tradingSim_project.wsgi.application"
ASGI_APPLICATION = "tradingSim_project.asgi.application"

# --- Database -----------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # WAL lets the API read while the matching worker writes; IMMEDIATE takes the write
            # lock at BEGIN so that concurrent writers queue instead of failing with "locked".
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(VAR_DIR / "test_db.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 10_000, "expiry": 60},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tradingsim",
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            # Channels' in-memory layer, minus a full scan per receive/group_send
            "BACKEND": "websocket_app.gateway.memory_layer.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
LOGIN_URL = "/admin/login/"

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "trading_app.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "trading_app.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "tradingSim API",
    "DESCRIPTION": "A trading simulation exchange: orders, trades, accounts, positions, market data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "trading_app.models.OrderStatus",
        "SideEnum": "trading_app.models.Side",
        "TypeEnum": "trading_app.models.OrderType",
        "BacktestStatusEnum": "trading_app.api.openapi.BACKTEST_STATUSES",
        "StrategyRunStatusEnum": "trading_app.api.openapi.RUN_STATUSES",
        "StrategyParamTypeEnum": "trading_app.api.openapi.PARAM_TYPES",
        "StrategyRunCreateSourceEnum": "trading_app.api.openapi.LIVE_SOURCES",
    },
}

# --- Exchange -------------------------------------------------------------------------------------
MATCHING_SHARDS = int(os.environ.get("MATCHING_SHARDS", "1"))
MATCHING_BATCH_SIZE = int(os.environ.get("MATCHING_BATCH_SIZE", "2000"))
DEMO_CASH = Decimal(os.environ.get("DEMO_CASH", "1000000"))
# Risk limit defaults (issue 7); per-account overrides live in RiskLimits rows.
RISK_DEFAULTS = {
    "max_order_qty": int(os.environ.get("MAX_ORDER_QTY", "100000")),
    "max_order_notional": Decimal(os.environ.get("MAX_ORDER_NOTIONAL", "10000000")),
    "max_position_qty": int(os.environ.get("MAX_POSITION_SIZE", "1000000")),
    "max_gross_exposure": Decimal(os.environ.get("MAX_GROSS_EXPOSURE", "100000000")),
    "price_collar_pct": Decimal(os.environ.get("PRICE_COLLAR_PCT", "10")),
    "max_orders_per_second": int(os.environ.get("MAX_ORDERS_PER_SECOND", "1000")),
    "max_volume_pct": Decimal(os.environ.get("MAX_VOLUME_PCT", "100")),
    "max_daily_loss": Decimal(os.environ.get("MAX_DAILY_LOSS", "1000000")),
}

# --- Market data and AWS --------------------------------------------------------------------------
MARKET_DATA_PROVIDERS = env_list("MARKET_DATA_PROVIDERS", "simulated")
MARKET_DATA_CACHE_TTL = int(os.environ.get("MARKET_DATA_CACHE_TTL", "5"))
AWS_ENDPOINT_URL = os.environ.get("AWS_ENDPOINT_URL", "")
AWS_REGION = os.environ.get("AWS_REGION", "us-east-1")
TRADE_EXPORT_BUCKET = os.environ.get("TRADE_EXPORT_BUCKET", "tradingsim-trades")
LAMBDA_FUNCTION_NAME = os.environ.get("LAMBDA_FUNCTION_NAME", "")
# Where export_trades writes and the in-process analysis reads: "s3", "local" (a directory with
# S3's key layout, TRADE_EXPORT_LOCAL_DIR/<bucket>/YYYY/MM/DD/trades.csv) or "auto": local when
# AWS_ENDPOINT_URL is empty and boto3 finds no credentials, so a fresh checkout works offline.
TRADE_EXPORT_STORE = os.environ.get("TRADE_EXPORT_STORE", "auto").lower()
TRADE_EXPORT_LOCAL_DIR = VAR_DIR / "s3"

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = build_logging(LOG_LEVEL, LOG_FORMAT)

# Day orders expire at the session end (UTC "HH:MM"; empty: only on `manage.py end_session`).
SESSION_END_UTC = os.environ.get("SESSION_END_UTC", "21:00")

# --- Price feed and price streams (issue 4) ---------------------------------------------------------
# MARKET_DATA_PROVIDERS (above) is the failover order, e.g. "yfinance,simulated" or
# "exchange,simulated"; MARKET_DATA_CACHE_TTL is the yfinance quote cache TTL in seconds.
FEED_SYMBOLS = env_list("FEED_SYMBOLS", "")  # empty: every active instrument
FEED_TICK_RATE = float(os.environ.get("FEED_TICK_RATE", "2"))  # simulated ticks/s per symbol
FEED_SEED = os.environ.get("FEED_SEED", "0")
FEED_VOLATILITY = float(os.environ.get("FEED_VOLATILITY", "0.6"))  # annualised sigma
FEED_JUMPS_PER_MINUTE = float(os.environ.get("FEED_JUMPS_PER_MINUTE", "0.5"))  # per symbol
FEED_JUMP_SIZE = float(os.environ.get("FEED_JUMP_SIZE", "0.03"))  # typical jump, 0.03 = 3%
FEED_MAX_JUMP_PCT = Decimal(os.environ.get("FEED_MAX_JUMP_PCT", "20"))  # larger moves are dropped
FEED_STALE_SECONDS = float(os.environ.get("FEED_STALE_SECONDS", "30"))
FEED_RETRY_SECONDS = float(os.environ.get("FEED_RETRY_SECONDS", "30"))
YFINANCE_POLL_SECONDS = float(os.environ.get("YFINANCE_POLL_SECONDS", "15"))
YFINANCE_TIMEOUT_SECONDS = float(os.environ.get("YFINANCE_TIMEOUT_SECONDS", "10"))
MARKET_DATA_HISTORY_TTL = int(os.environ.get("MARKET_DATA_HISTORY_TTL", "3600"))
PRICE_MA_WINDOW_SECONDS = int(os.environ.get("PRICE_MA_WINDOW_SECONDS", "300"))
PRICE_ALERT_WINDOW_SECONDS = int(os.environ.get("PRICE_ALERT_WINDOW_SECONDS", "60"))
PRICE_ALERT_THRESHOLD_PCT = Decimal(os.environ.get("PRICE_ALERT_THRESHOLD_PCT", "2"))
EXTRA_BACKGROUND_SERVICES = [
    *globals().get("EXTRA_BACKGROUND_SERVICES", []),
    ("price feed", "trading_app.market_data.service.run_feed_service"),
]
# yfinance logs every failed download at ERROR; the provider reports it once, in its own words.
LOGGING["loggers"]["yfinance"] = {"level": "CRITICAL"}

# --- Strategies, live runs and the market simulator (issue 6) ---------------------------------------
# `serve` hosts live strategy runs started through the API (the in-memory layer is per process).
EXTRA_BACKGROUND_SERVICES = [
    *EXTRA_BACKGROUND_SERVICES,
    ("strategy runs", "algo_trading.django_adapters.runs.run_strategy_service"),
]
# Started by `serve` unless SIMULATE=0: agents trading every instrument through the real order path.
SIMULATION_SERVICES = [
    *globals().get("SIMULATION_SERVICES", []),
    ("market simulator", "algo_trading.simulator.service.run_simulator_service"),
]
# serve's simulator: a gentle pace (decision rounds per second per symbol) and one agent of each kind.
SIMULATOR = {
    "rate": float(os.environ.get("SIMULATOR_RATE", "1")),
    "seed": os.environ.get("SIMULATOR_SEED", "0"),
    "market_makers": int(os.environ.get("SIMULATOR_MARKET_MAKERS", "1")),
    "noise_traders": int(os.environ.get("SIMULATOR_NOISE_TRADERS", "1")),
    "momentum_traders": int(os.environ.get("SIMULATOR_MOMENTUM_TRADERS", "1")),
    "cash": os.environ.get("SIMULATOR_CASH", "10000000"),
}
SIMULATOR_SYMBOLS = env_list("SIMULATOR_SYMBOLS", "")  # empty: every active instrument
# POST /api/backtests/ runs synchronously: cap the bars (and the CSV text) a request may send.
BACKTEST_API_MAX_BARS = int(os.environ.get("BACKTEST_API_MAX_BARS", "20000"))
