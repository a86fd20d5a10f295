"""Django settings, read from the environment (12-factor).

`DJANGO_ENV` selects the profile: `production` (the default, so a forgotten variable never
leaves a deployed service in debug mode), `development` or `test`. Every variable is listed in
README.md with its default and meaning. Missing or malformed values raise ImproperlyConfigured.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from core.env import (
    REQUIRED,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json,
    env_list,
    env_str,
    env_url,
)

# Lets generic admin and queryset classes be subscripted at run time, as the type stubs do.
django_stubs_ext.monkeypatch()

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
    "accounts",  # before allauth: its email templates override allauth's
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    "workspaces",
    "connections",
    "queries",
    "chats",
    "sync",
    "ai",
    "portability",
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
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "accounts.middleware.ActivityMiddleware",
    "workspaces.admin_access.OperatorAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.DatabaseBusyMiddleware",
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


# A process-wide psycopg connection pool (Django's `OPTIONS["pool"]`). Under ASGI every request
# runs in a thread of its own, so without a pool each request opens (and authenticates) a new
# PostgreSQL connection; with it, a request borrows one and gives it back when it ends. Pooling is
# safe with row-level security because the tenant settings are transaction-local
# (core/tenancy/db.py) and the pool rolls back whatever a connection comes back with.
DATABASE_POOL = env_bool("DATABASE_POOL", True)
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 2, min_value=0)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 20, min_value=1)
# Seconds a request waits for a free pooled connection before it fails (503, retryable).
DATABASE_POOL_TIMEOUT = env_float("DATABASE_POOL_TIMEOUT", 10.0)
if DATABASE_POOL_TIMEOUT <= 0:
    raise ImproperlyConfigured("Environment variable DATABASE_POOL_TIMEOUT must be > 0.")
if DATABASE_POOL and DATABASE_POOL_MIN_SIZE > DATABASE_POOL_MAX_SIZE:
    raise ImproperlyConfigured("DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE.")


def _database(url: str) -> dict[str, object]:
    conn_max_age = env_int("DATABASE_CONN_MAX_AGE", 0, min_value=0)
    if DATABASE_POOL and conn_max_age:
        raise ImproperlyConfigured(
            "DATABASE_CONN_MAX_AGE keeps connections per thread and cannot be combined with the "
            "pool: unset it, or set DATABASE_POOL=false."
        )
    config = dict(dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True))
    config["ENGINE"] = "django.db.backends.postgresql"
    options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, min_value=1))
    options["application_name"] = "dbworkbench"
    if DATABASE_POOL:
        options["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT,
        }
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
        # Django's Redis cache, but clear() removes only KEY_PREFIX's keys (core/cache.py).
        "BACKEND": "core.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX + "cache",
        "OPTIONS": {
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            # One pool per process instead of one per request thread (core/cache.py).
            "pool_class": "core.cache.SharedConnectionPool",
        },
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
    # Desktop: `Authorization: Bearer <access token>` or `X-Session-Token`; web: the session
    # cookie (with CSRF). See docs/auth.md.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "allauth.headless.contrib.rest_framework.authentication.JWTTokenAuthentication",
        "allauth.headless.contrib.rest_framework.authentication.XSessionTokenAuthentication",
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

# =============================================================================================
# ACCOUNTS (accounts/, docs/auth.md): allauth headless for the desktop (`app` client, JWT) and
# the web app (`browser` client, cookies), email verification and password reset by code, 2FA,
# Google and GitHub sign-in, guests, sessions, transactional email through Resend.
# Everything the accounts app reads from settings is in this block.
# =============================================================================================
from accounts import conf as _accounts_conf  # noqa: E402

AUTHENTICATION_BACKENDS = [
    # Email + password for allauth's flows, also used by the admin login.
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Sessions back both browser cookies and the app client's tokens (a refresh token lives in the
# session it was issued for; ending the session revokes it). Redis in front, PostgreSQL behind.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 30 * 86400, min_value=3600)

# Where the web app lives (links in emails) and the desktop app's deep-link scheme.
WEB_APP_URL = env_url(
    "WEB_APP_URL", PUBLIC_URL, schemes=("https",) if IS_PRODUCTION else ("http", "https")
).rstrip("/")
APP_DEEP_LINK_SCHEME = _accounts_conf.deep_link_scheme(
    env_str("APP_DEEP_LINK_SCHEME", "dbworkbench")
)
# Lifetime of the one-time code the desktop exchanges for tokens after an OAuth sign-in.
DESKTOP_OAUTH_HANDOFF_TTL_SECONDS = 60

# --- allauth headless --------------------------------------------------------------------------
HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_ADAPTER = "accounts.adapters.HeadlessAdapter"
HEADLESS_SERVE_SPECIFICATION = True  # /_allauth/openapi.(yaml|json|html)
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.JWTTokenStrategy"  # noqa: S105 - a class path
HEADLESS_JWT_ALGORITHM = "RS256"
HEADLESS_JWT_PRIVATE_KEY = _accounts_conf.load_jwt_private_key(
    env_str("JWT_PRIVATE_KEY", None),
    production=IS_PRODUCTION,
    dev_key_file=BASE_DIR / "var" / "dev-jwt-private-key.pem",
)
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = env_int(
    "JWT_ACCESS_TOKEN_LIFETIME", 600, min_value=60, max_value=900
)
HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN = env_int(
    "JWT_REFRESH_TOKEN_LIFETIME", 30 * 86400, min_value=3600, max_value=SESSION_COOKIE_AGE
)
HEADLESS_JWT_ROTATE_REFRESH_TOKEN = True
# Every access token is checked against its session: logout, session revocation, password
# change and deactivation take effect on the next request, not when the token expires.
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": WEB_APP_URL + "/account/verify-email/{key}",
    "account_reset_password": WEB_APP_URL + "/account/password/reset",
    "account_reset_password_from_key": WEB_APP_URL + "/account/password/reset/key/{key}",
    "account_signup": WEB_APP_URL + "/account/signup",
    "socialaccount_login_error": WEB_APP_URL + "/account/provider/callback",
}

# --- allauth account ---------------------------------------------------------------------------
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_USER_DISPLAY = "accounts.adapters.user_display"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
_SIX_DIGITS = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_FORMAT = _SIX_DIGITS
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS = 5
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 15 * 60
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_CHANGE = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_CODE_FORMAT = _SIX_DIGITS  # sic: the name allauth 65.x reads
ACCOUNT_PASSWORD_RESET_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_PASSWORD_RESET_BY_CODE_TIMEOUT = 10 * 60
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("REAUTHENTICATION_TIMEOUT", 300, min_value=60)
ACCOUNT_SESSION_REMEMBER = True
# False keeps the session that changed the password signed in (with fresh tokens for the app
# client); every OTHER session and its tokens is ended by accounts.receivers. Password resets
# end all of them.
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# "<amount>/<period>/<per>" with per = ip, key (email, or the login being attempted) or user.
# Counters live in the default cache (Redis). Our own actions (guest_*, desktop_oauth_*) share
# this table so every auth limit is in one place.
ACCOUNT_RATE_LIMITS = {
    "login": env_str("RATE_LIMIT_LOGIN", "30/m/ip"),
    # Lockout: 5 failed logins for one account within 5 minutes blocks that account's logins.
    "login_failed": env_str("RATE_LIMIT_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": env_str("RATE_LIMIT_SIGNUP", "20/m/ip"),
    "confirm_email": env_str("RATE_LIMIT_CONFIRM_EMAIL", "1/30s/key"),
    "reset_password": env_str("RATE_LIMIT_RESET_PASSWORD", "20/m/ip,5/m/key"),
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
    "request_login_code": "20/m/ip,3/m/key",
    "change_phone": "1/m/user",
    "verify_phone": "1/30s/key,3/m/ip",
    "guest_create": env_str("RATE_LIMIT_GUEST_CREATE", "10/h/ip"),
    "guest_upgrade": "10/h/user",
    "desktop_oauth_start": env_str("RATE_LIMIT_DESKTOP_OAUTH_START", "30/m/ip"),
    "desktop_oauth_token": env_str("RATE_LIMIT_DESKTOP_OAUTH_TOKEN", "30/m/ip"),
    "confirm_email_link": "10/m/ip",
}

# --- 2FA: TOTP, recovery codes, WebAuthn passkeys ----------------------------------------------
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_PASSKEY_SIGNUP_ENABLED = False
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "DB Workbench")
MFA_TOTP_TOLERANCE = 1  # one 30 s step either side, for clock drift
MFA_RECOVERY_CODE_COUNT = 10
MFA_TRUST_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not IS_PRODUCTION  # http://localhost in development

# --- Google and GitHub sign-in: a provider is offered only when both its variables are set ------
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_QUERY_EMAIL = True
SOCIALACCOUNT_AUTO_SIGNUP = True
# Sign in to an existing account only through an address the provider says is verified;
# allauth wipes the password of an account whose own copy of that address was never verified.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
_google_app = _accounts_conf.provider_app(
    env_str("GOOGLE_CLIENT_ID", None),
    env_str("GOOGLE_CLIENT_SECRET", None),
    id_variable="GOOGLE_CLIENT_ID",
    secret_variable="GOOGLE_CLIENT_SECRET",  # noqa: S106 - a variable name, not a secret
)
if _google_app:
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APP": _google_app,
        "SCOPE": ["openid", "email", "profile"],
        "AUTH_PARAMS": {"access_type": "online", "prompt": "select_account"},
        "OAUTH_PKCE_ENABLED": True,
    }
_github_app = _accounts_conf.provider_app(
    env_str("GITHUB_CLIENT_ID", None),
    env_str("GITHUB_CLIENT_SECRET", None),
    id_variable="GITHUB_CLIENT_ID",
    secret_variable="GITHUB_CLIENT_SECRET",  # noqa: S106 - a variable name, not a secret
)
if _github_app:
    SOCIALACCOUNT_PROVIDERS["github"] = {"APP": _github_app, "SCOPE": ["read:user", "user:email"]}

# --- Sessions and devices ----------------------------------------------------------------------
USERSESSIONS_TRACK_ACTIVITY = True

# --- Email: every message is rendered in the request and sent by a Celery task ----------------
EMAIL_BACKEND_NAME = env_choice(
    "EMAIL_BACKEND",
    tuple(_accounts_conf.EMAIL_BACKENDS),
    "resend" if IS_PRODUCTION else "file" if IS_TEST else "console",
)
EMAIL_BACKEND = _accounts_conf.EMAIL_BACKENDS[EMAIL_BACKEND_NAME]
RESEND_API_KEY = env_str("RESEND_API_KEY", REQUIRED if EMAIL_BACKEND_NAME == "resend" else None)
RESEND_API_URL = env_url("RESEND_API_URL", "https://api.resend.com", schemes=("https", "http"))
# File backend (tests): one directory per REDIS_KEY_PREFIX, so a worker's mail can be read back.
EMAIL_FILE_PATH = env_str(
    "EMAIL_FILE_PATH",
    str(BASE_DIR / "var" / "mail" / _accounts_conf.mail_dir_name(REDIS_KEY_PREFIX)),
)
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", f"DB Workbench <no-reply@{_accounts_conf.url_host(PUBLIC_URL)}>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 10
EMAIL_TASK_MAX_RETRIES = env_int("EMAIL_TASK_MAX_RETRIES", 8, min_value=0)

# --- Guests ------------------------------------------------------------------------------------
GUEST_IDLE_DAYS = env_int("GUEST_IDLE_DAYS", 30, min_value=1)
CELERY_BEAT_SCHEDULE["accounts.purge_idle_guests"] = {
    "task": "accounts.purge_idle_guests",
    "schedule": timedelta(hours=6),
}
CELERY_BEAT_SCHEDULE["accounts.purge_expired_sessions"] = {
    "task": "accounts.purge_expired_sessions",
    "schedule": timedelta(hours=12),
}
# =============================================================================================

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

# ---------------------------------------------------------------------------------------------
# Plans and their limits (None: unlimited). `per_seat` limits are multiplied by the seats a team
# subscription pays for. PLAN_LIMITS (JSON) replaces any plan's entry. See docs/billing.md.
# ---------------------------------------------------------------------------------------------
_DEFAULT_PLAN_LIMITS: dict[str, dict[str, object]] = {
    "free": {
        "members": 2,
        "connections": 5,
        "saved_queries": 200,
        "sync_devices": 2,
        "ai_requests_per_month": 100,
        "ai_tokens_per_month": 300_000,
        "history_retention_days": 30,
    },
    "pro": {
        "members": 3,
        "connections": 100,
        "saved_queries": None,
        "sync_devices": 10,
        "ai_requests_per_month": 2_000,
        "ai_tokens_per_month": 5_000_000,
        "history_retention_days": 365,
    },
    "team": {
        "members": 1,
        "connections": 1_000,
        "saved_queries": None,
        "sync_devices": 10,
        "ai_requests_per_month": 1_000,
        "ai_tokens_per_month": 2_500_000,
        "history_retention_days": 730,
        "per_seat": ["members", "sync_devices", "ai_requests_per_month", "ai_tokens_per_month"],
    },
}
PLAN_LIMITS = {**_DEFAULT_PLAN_LIMITS, **env_json("PLAN_LIMITS", {})}

# Query history retention (queries/tasks.py, docs/data.md): once a day, history older than each
# workspace's history_retention_days (capped by its plan's) is purged in batches.
CELERY_BEAT_SCHEDULE["queries.enforce_history_retention"] = {
    "task": "queries.enforce_history_retention",
    "schedule": timedelta(hours=24),
}

# ---------------------------------------------------------------------------------------------
# AI providers (ai/providers). Nothing here is required: a provider without its key (for
# "compatible": without its base URL) is skipped, and with none configured AI requests fail with
# the `not_configured` error. Variables and fallback rules: docs/ai-providers.md.
# ---------------------------------------------------------------------------------------------
_AI_PROVIDER_NAMES = ("anthropic", "openai", "openai_chat", "compatible")


def _ai_models(name: str, default: str) -> dict[str, str]:
    """`provider:model` pairs, comma-separated: "anthropic:claude-haiku-4-5,openai:gpt-5-mini"."""
    models: dict[str, str] = {}
    for item in env_list(name, default.split(",")):
        provider, colon, model = (part.strip() for part in item.partition(":"))
        if not colon or provider not in _AI_PROVIDER_NAMES or not model:
            raise ImproperlyConfigured(
                f"Environment variable {name} must be comma-separated provider:model pairs with "
                f"provider one of {', '.join(_AI_PROVIDER_NAMES)}; got {item!r}."
            )
        models[provider] = model
    return models


ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY", None)
ANTHROPIC_BASE_URL = env_url("ANTHROPIC_BASE_URL", None, schemes=("http", "https"))
OPENAI_API_KEY = env_str("OPENAI_API_KEY", None)
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", None, schemes=("http", "https"))
AI_COMPATIBLE_BASE_URL = env_url("AI_COMPATIBLE_BASE_URL", None, schemes=("http", "https"))
AI_COMPATIBLE_API_KEY = env_str("AI_COMPATIBLE_API_KEY", None)
AI_PROVIDER_ORDER = env_list("AI_PROVIDER_ORDER", ["anthropic", "openai", "compatible"])
if _unknown_ai_providers := set(AI_PROVIDER_ORDER) - set(_AI_PROVIDER_NAMES):
    raise ImproperlyConfigured(
        f"Environment variable AI_PROVIDER_ORDER names unknown providers "
        f"{', '.join(sorted(_unknown_ai_providers))}; known: {', '.join(_AI_PROVIDER_NAMES)}."
    )
# One model per provider and task; a provider with no model for a task is skipped for it.
AI_MODEL_CHAT = _ai_models("AI_MODEL_CHAT", "anthropic:claude-sonnet-4-6,openai:gpt-5-mini")
AI_MODEL_SQL = _ai_models("AI_MODEL_SQL", "anthropic:claude-haiku-4-5,openai:gpt-5-mini")
# Longest silence allowed while waiting for a provider (between two streamed chunks, or for a
# whole one-shot answer).
AI_REQUEST_TIMEOUT_SECONDS = env_float("AI_REQUEST_TIMEOUT_SECONDS", 60.0)
if AI_REQUEST_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("Environment variable AI_REQUEST_TIMEOUT_SECONDS must be > 0.")
# Retries of a failing provider before the next one in AI_PROVIDER_ORDER is tried.
AI_MAX_RETRIES = env_int("AI_MAX_RETRIES", 2, min_value=0, max_value=10)
# --- end of AI providers ----------------------------------------------------------------------

# =============================================================================================
# Billing (billing/, docs/billing.md): Stripe subscriptions through dj-stripe, one Stripe
# customer per workspace. Nothing here is required in development or test. In production it is
# required only when BILLING_ENABLED is on: the secret key of the selected mode
# (STRIPE_TEST_SECRET_KEY, or STRIPE_LIVE_SECRET_KEY with STRIPE_LIVE_MODE) and the webhook
# signing secret (STRIPE_WEBHOOK_SECRET). With billing off every workspace keeps the plan stored
# on it (free, or comped from the admin) and the checkout and portal endpoints answer 503.
# =============================================================================================
from billing import conf as _billing_conf  # noqa: E402

INSTALLED_APPS += ["djstripe", "billing"]

_stripe = _billing_conf.load_stripe_settings(production=IS_PRODUCTION)
BILLING_ENABLED = _stripe.enabled
STRIPE_LIVE_MODE = _stripe.live_mode
STRIPE_LIVE_SECRET_KEY = _stripe.live_secret_key
STRIPE_TEST_SECRET_KEY = _stripe.test_secret_key
# dj-stripe 2.11 reads signing secrets from its WebhookEndpoint rows, not from settings:
# `manage.py billing_webhook_endpoint` (also run after every migrate while billing is on) writes
# this one onto the row that serves /stripe/webhook/<BILLING_WEBHOOK_UUID>/.
DJSTRIPE_WEBHOOK_SECRET = _stripe.webhook_secret
BILLING_WEBHOOK_UUID = _stripe.webhook_uuid
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_SUBSCRIBER_MODEL = "workspaces.Workspace"
# Only dj-stripe's own view mixins call this (our endpoints resolve the workspace themselves).
DJSTRIPE_SUBSCRIBER_MODEL_REQUEST_CALLBACK = "billing.selectors.subscriber_from_request"
# Idempotency keys derived from the action instead of stored rows (billing.gateway).
DJSTRIPE_IDEMPOTENCY_KEY_CALLBACK = "billing.gateway.idempotency_key"
# Lookup keys of the Stripe prices of the paid plans; team is billed per seat.
STRIPE_PRICE_LOOKUP_PRO = env_str("STRIPE_PRICE_LOOKUP_PRO", "pro_monthly")
STRIPE_PRICE_LOOKUP_TEAM = env_str("STRIPE_PRICE_LOOKUP_TEAM", "team_monthly_per_seat")
# Days a past-due workspace keeps its paid plan before its effective plan falls to free.
BILLING_PAST_DUE_GRACE_DAYS = env_int("BILLING_PAST_DUE_GRACE_DAYS", 7, min_value=0)
BILLING_MAX_SEATS = env_int("BILLING_MAX_SEATS", 500, min_value=1)
# Where Stripe sends the browser back. "{workspace_id}" is filled in; Stripe fills in its own
# "{CHECKOUT_SESSION_ID}".
BILLING_CHECKOUT_SUCCESS_URL = env_str(
    "BILLING_CHECKOUT_SUCCESS_URL",
    WEB_APP_URL + "/workspaces/{workspace_id}/billing?checkout=success",
)
BILLING_CHECKOUT_CANCEL_URL = env_str(
    "BILLING_CHECKOUT_CANCEL_URL",
    WEB_APP_URL + "/workspaces/{workspace_id}/billing?checkout=canceled",
)
BILLING_PORTAL_RETURN_URL = env_str(
    "BILLING_PORTAL_RETURN_URL", WEB_APP_URL + "/workspaces/{workspace_id}/billing"
)
# Origins (scheme://host[:port]) a client may send its own return URLs on, instead of the above.
BILLING_RETURN_URL_ORIGINS = env_list(
    "BILLING_RETURN_URL_ORIGINS", [_billing_conf.url_origin(WEB_APP_URL)]
)
# One name per choice set in the OpenAPI schema.
_enum_overrides: dict[str, str] = SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]  # type: ignore[assignment]
_enum_overrides.update(
    {
        "PlanEnum": "workspaces.models.Plan",
        "PaidPlanEnum": "billing.plans.PAID_PLAN_CHOICES",
        "BillingStatusEnum": "workspaces.models.BillingStatus",
    }
)
# The stripe SDK logs every request at INFO; billing.gateway logs the failures.
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}  # type: ignore[index]
# --- end of billing ---------------------------------------------------------------------------

# =============================================================================================
# Sync (sync/, docs/sync.md): push/pull limits, the per-user rate limits, collection of
# tombstones, idle devices and stored mutation results, and the events stream's heartbeat.
# =============================================================================================
SYNC_MAX_MUTATIONS = env_int("SYNC_MAX_MUTATIONS", 1000, min_value=1)
# A push body above this answers 413 (MAX_REQUEST_BYTES still caps every request before it).
SYNC_MAX_PUSH_BYTES = env_int("SYNC_MAX_PUSH_BYTES", 10 * 1024 * 1024, min_value=1024)
# Per user, "<n>/<second|minute|hour>"; 429 with Retry-After above it.
SYNC_PUSH_RATE = env_str("SYNC_PUSH_RATE", "300/minute")
SYNC_PULL_RATE = env_str("SYNC_PULL_RATE", "1200/minute")
SYNC_PULL_DEFAULT_LIMIT = env_int("SYNC_PULL_DEFAULT_LIMIT", 500, min_value=1, max_value=1000)
# A push waits at most this long for the workspace's clock row, then retries; after
# SYNC_PUSH_ATTEMPTS transient failures (lock timeout, deadlock, serialization, lost
# connection) it answers 503 with Retry-After and nothing of it is counted.
SYNC_LOCK_TIMEOUT_MS = env_int("SYNC_LOCK_TIMEOUT_MS", 10_000, min_value=10)
SYNC_PUSH_ATTEMPTS = env_int("SYNC_PUSH_ATTEMPTS", 3, min_value=1, max_value=10)
SYNC_RETRY_AFTER_SECONDS = env_int("SYNC_RETRY_AFTER_SECONDS", 2, min_value=1)
SYNC_TOMBSTONE_DAYS = env_int("SYNC_TOMBSTONE_DAYS", 30, min_value=1)
SYNC_DEVICE_IDLE_DAYS = env_int("SYNC_DEVICE_IDLE_DAYS", 90, min_value=1)
SYNC_RESULT_RETENTION_DAYS = env_int("SYNC_RESULT_RETENTION_DAYS", 30, min_value=1)
SYNC_EVENTS_PING_SECONDS = env_int("SYNC_EVENTS_PING_SECONDS", 15, min_value=1, max_value=20)
# A stream ends after this long (the client reconnects), so membership is checked again.
SYNC_EVENTS_MAX_SECONDS = env_int("SYNC_EVENTS_MAX_SECONDS", 3600, min_value=10)
CELERY_BEAT_SCHEDULE["sync-collect"] = {
    "task": "sync.collect_all",
    "schedule": env_int("SYNC_COLLECT_EVERY_SECONDS", 3600, min_value=60),
}
# --- end of sync ------------------------------------------------------------------------------

# =============================================================================================
# AI assistant (ai/, docs/ai.md): chat generations run as Celery tasks that append UI message
# stream chunks to one Redis Stream per generation; the web relays them as Server-Sent Events.
# Provider keys and models are in the "AI providers" block above.
# =============================================================================================
# Celery queue of the generation and titling tasks. The default queue works with one worker
# pool; a dedicated queue (and `celery worker -Q ai`) keeps long streams away from email.
AI_CELERY_QUEUE = env_str("AI_CELERY_QUEUE", "celery")
# A finished generation stays replayable (resume, Last-Event-ID) for this long.
AI_STREAM_RETENTION_SECONDS = env_int("AI_STREAM_RETENTION_SECONDS", 600, min_value=10)
# Hard cap on chunks per generation: the generation is ended with an error beyond it. The Redis
# Stream also carries MAXLEN ~ a little above it, as a backstop that never trims in practice.
AI_STREAM_MAX_CHUNKS = env_int("AI_STREAM_MAX_CHUNKS", 20_000, min_value=100)
# `: ping` comment lines on an idle stream, so proxies keep it open.
AI_STREAM_HEARTBEAT_SECONDS = env_float("AI_STREAM_HEARTBEAT_SECONDS", 15.0)
# A generation no worker has picked up within this long is failed (the user sees an error).
AI_STREAM_START_TIMEOUT_SECONDS = env_float("AI_STREAM_START_TIMEOUT_SECONDS", 60.0)
# A running generation whose worker has not been heard of for this long is failed.
AI_STREAM_STALL_SECONDS = env_float("AI_STREAM_STALL_SECONDS", 180.0)
if min(AI_STREAM_HEARTBEAT_SECONDS, AI_STREAM_START_TIMEOUT_SECONDS, AI_STREAM_STALL_SECONDS) <= 0:
    raise ImproperlyConfigured("AI_STREAM_*_SECONDS settings must be > 0.")
# Approval tokens for SQL the user must confirm: lifetime in seconds.
AI_APPROVAL_TTL_SECONDS = env_int("AI_APPROVAL_TTL_SECONDS", 300, min_value=10, max_value=3600)
# Per user, across chat and one-shot endpoints: requests per minute, and generations at once.
AI_RATE_LIMIT_PER_MINUTE = env_int("AI_RATE_LIMIT_PER_MINUTE", 30, min_value=1)
AI_MAX_ACTIVE_GENERATIONS_PER_USER = env_int("AI_MAX_ACTIVE_GENERATIONS_PER_USER", 3, min_value=1)
# Prompt budget (estimated tokens) for the part of a client's schema sent to the model.
AI_SCHEMA_TOKEN_BUDGET = env_int("AI_SCHEMA_TOKEN_BUDGET", 6_000, min_value=200)
# Row cap the guardrail puts on run_readonly_query SQL.
AI_TOOL_MAX_ROWS = env_int("AI_TOOL_MAX_ROWS", 200, min_value=1, max_value=100_000)
AI_CHAT_MAX_OUTPUT_TOKENS = env_int("AI_CHAT_MAX_OUTPUT_TOKENS", 4096, min_value=64)
# Redis connections per process for streams: each open SSE stream holds one in the web process
# while it waits (Redis's maxclients must cover web processes x open streams).
AI_REDIS_MAX_CONNECTIONS = env_int("AI_REDIS_MAX_CONNECTIONS", 5_000, min_value=10)
# Generations saving their answer at the same moment, per worker process (each holds a
# database connection meanwhile).
AI_WORKER_DB_CONCURRENCY = env_int("AI_WORKER_DB_CONCURRENCY", 8, min_value=1)
# Clients may name their `ai` npm version when their runtime cannot set User-Agent (browsers).
CORS_ALLOW_HEADERS = (*CORS_ALLOW_HEADERS, "x-ai-sdk-version")  # type: ignore[assignment]  # one longer
# --- end of AI assistant ----------------------------------------------------------------------
