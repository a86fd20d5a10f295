"""Logging, Sentry and the readiness probe."""

from __future__ import annotations

from typing import Any

from config.settings.base import DJANGO_ENV, IS_PRODUCTION
from core.env import env_choice, env_float, env_str, env_url

# ---------------------------------------------------------------------------------------------
# Logging: JSON lines in production, readable lines in development. Every record carries the
# request id, user id and workspace id of the request or task it belongs to.
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOG_FORMAT = env_choice("LOG_FORMAT", ("json", "text"), "json" if IS_PRODUCTION else "text")
LOGGING: dict[str, Any] = {  # logging.config.dictConfig's schema
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "core.logging.JsonFormatter",
        },
        "text": {
            "format": (
                "%(asctime)s %(levelname)-7s %(name)s [req=%(request_id)s user=%(user_id)s "
                "ws=%(workspace_id)s] %(message)s"
            ),
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {  # billing.py adds stripe
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "uvicorn.access": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}

# ---------------------------------------------------------------------------------------------
# Sentry
# ---------------------------------------------------------------------------------------------
SENTRY_DSN = env_url("SENTRY_DSN", None, schemes=("https", "http"))
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", DJANGO_ENV)
SENTRY_TRACES_SAMPLE_RATE = env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0)
RELEASE = env_str("RELEASE", env_str("FLY_IMAGE_REF", "dev"))

# ---------------------------------------------------------------------------------------------
# Readiness probe
# ---------------------------------------------------------------------------------------------
READYZ_TIMEOUT_SECONDS = env_float("READYZ_TIMEOUT_SECONDS", 2.0)

if SENTRY_DSN:
    from core.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
