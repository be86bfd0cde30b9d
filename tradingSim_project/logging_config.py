"""Logging set up from LOG_LEVEL and LOG_FORMAT (text or json), as 001's environment example asks."""

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so that log shippers can index fields without parsing prose."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key.startswith("ctx_"):
                payload[key[4:]] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def build_logging(level: str, fmt: str) -> dict:
    formatter = "json" if fmt.lower() == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"()": JsonFormatter},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter}},
        "root": {"handlers": ["console"], "level": level.upper()},
        "loggers": {
            # Django's own console handler would print each django.* record a second time,
            # unformatted, before it reaches the root's (under DEBUG): one handler, the root's.
            "django": {"level": "INFO", "handlers": []},
            "django.db.backends": {"level": "WARNING"},
            "daphne": {"level": "WARNING"},
        },
    }
