"""Django settings, read from the environment (12-factor).

`DJANGO_ENV` selects the profile: `production` (the default, so a forgotten variable never
leaves a deployed service in debug mode), `development` or `test`. Every variable is listed in
README.md with its default and meaning. Missing or malformed values raise ImproperlyConfigured.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    REQUIRED,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_choice("DJANGO_ENV", ("production", "development", "test"), "production")
IS_PRODUCTION = DJANGO_ENV == "production"
IS_TEST = DJANGO_ENV == "test"

DEBUG = env_bool("DJANGO_DEBUG", default=DJANGO_ENV == "development")
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must not be on when DJANGO_ENV=production.")

if IS_PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY must be at least 50 characters with at least 5 distinct characters."
        )
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-" + "x" * 40 + "-never-in-production")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production (comma-separated).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "X-Session-Token"]
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
    "x-request-id",
    "x-session-token",
    "x-sync-protocol",
    "last-event-id",
)

# Public base URL of this service (used in emails and OAuth redirects).
PUBLIC_URL = env_url(
    "PUBLIC_URL",
    REQUIRED if IS_PRODUCTION else "http://localhost:8000",
    schemes=("https",) if IS_PRODUCTION else ("http", "https"),
)

# ---------------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "core",
    "accounts",
    "workspaces",
    "connections",
    "queries",
    "chats",
    "sync",
    "ai",
]

MIDDLEWARE = [
    "core.middleware.RequestContextMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "core.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"

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

# ---------------------------------------------------------------------------------------------
# PostgreSQL, always. DATABASE_URL is the role the service runs as (no superuser, no
# BYPASSRLS, not the owner of the tables); DATABASE_OWNER_URL is the role that owns the schema
# and runs migrations (Fly's release_command). scripts/services.py provides both locally.
# ---------------------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "postgis"))
DATABASE_OWNER_URL = env_url(
    "DATABASE_OWNER_URL", None, schemes=("postgres", "postgresql", "postgis")
)
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE", "")


def _database(url: str) -> dict[str, object]:
    config = dict(
        dj_database_url.parse(
            url,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, min_value=0),
            conn_health_checks=True,
        )
    )
    config["ENGINE"] = "django.db.backends.postgresql"
    options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, min_value=1))
    options["application_name"] = "dbworkbench"
    config["OPTIONS"] = options
    test_name = env_str("DATABASE_TEST_NAME", None)
    if test_name:
        config["TEST"] = {"NAME": test_name}
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------------
# Redis, always: Celery broker, cache, rate limits and streams.
# ---------------------------------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
# Prefix for every key this deployment writes, so several services (or test runs) can share one
# Redis without seeing each other's keys, queues or streams.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "dbw:")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX + "cache",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    }
}

# ---------------------------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": REDIS_KEY_PREFIX + "celery:",
    # A task whose worker died mid-run is redelivered after this many seconds.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, min_value=60),
    "socket_connect_timeout": 2,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": REDIS_KEY_PREFIX + "celery:"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(hours=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 900, min_value=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE_FILENAME = env_str(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "var" / "celerybeat-schedule")
)

# ---------------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: speed, never deployed
    if IS_TEST
    else [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    if env_bool("PASSWORD_ARGON2", False)
    else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
)

# Behind Fly's proxy TLS terminates at the edge; Fly sets X-Forwarded-Proto.
TRUST_PROXY_HEADERS = env_bool("TRUST_PROXY_HEADERS", IS_PRODUCTION)
if TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", IS_PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Request bodies above this are refused with 413 before they are read (see core.middleware and
# config.asgi). Django's own limit is set to match so nothing slips past a missing header.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 10 * 1024 * 1024, min_value=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = min(MAX_REQUEST_BYTES, 2_621_440)

# ---------------------------------------------------------------------------------------------
# i18n, static
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# ---------------------------------------------------------------------------------------------
# REST framework and OpenAPI
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("THROTTLE_USER", "1200/minute"),
        "anon": env_str("THROTTLE_ANON", "120/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(  # type: ignore[attr-defined]
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Database Workbench Cloud API",
    "DESCRIPTION": (
        "REST/JSON API for the desktop and web clients of the database workbench. Every error "
        'uses one shape: `{"error": {"code", "message", "fields"?, "request_id"}}`. '
        "See docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

# ---------------------------------------------------------------------------------------------
# Logging: JSON lines in production, readable lines in development. Every record carries the
# request id, user id and workspace id of the request or task it belongs to.
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOG_FORMAT = env_choice("LOG_FORMAT", ("json", "text"), "json" if IS_PRODUCTION else "text")
LOGGING = {
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
    "loggers": {
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

CSRF_FAILURE_VIEW = "core.api.exceptions.csrf_failure"

# ---------------------------------------------------------------------------------------------
# Client IP: behind Fly's proxy the client is in Fly-Client-IP. Trusted only when named here.
# ---------------------------------------------------------------------------------------------
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "Fly-Client-IP" if TRUST_PROXY_HEADERS else "")

# ---------------------------------------------------------------------------------------------
# Encryption at rest of stored credentials (core/crypto, docs/encryption.md).
# ENCRYPTION_KEYS: master keys, "primary=<id>;<id>=<base64 of 32 bytes>;...", parsed and checked
# here so a bad value stops start-up (errors never echo key material). Required in production
# with the default provider; development and test fall back to a fixed, public, INSECURE key.
# ENCRYPTION_MASTER_KEY_PROVIDER: dotted path of a MasterKeyProvider (KMS plug-in point).
# ---------------------------------------------------------------------------------------------
from core.crypto.master_keys import ENV_PROVIDER, load_master_keys  # noqa: E402

ENCRYPTION_MASTER_KEY_PROVIDER = env_str("ENCRYPTION_MASTER_KEY_PROVIDER", ENV_PROVIDER)
ENCRYPTION_KEYS = load_master_keys(
    env_str("ENCRYPTION_KEYS", None),
    production=IS_PRODUCTION,
    required=ENCRYPTION_MASTER_KEY_PROVIDER == ENV_PROVIDER,
)
ENCRYPTION_KEY_CACHE_TTL_SECONDS = env_int("ENCRYPTION_KEY_CACHE_TTL_SECONDS", 300, min_value=0)
ENCRYPTION_KEY_CACHE_SIZE = env_int("ENCRYPTION_KEY_CACHE_SIZE", 1000, min_value=0)
