"""Accounts (accounts/, docs/auth.md): allauth headless for the desktop (`app` client, JWT) and
the web app (`browser` client, cookies), email verification and password reset by code, 2FA,
Google and GitHub sign-in, guests, sessions, transactional email through Resend.
Everything the accounts app reads from settings is in this module.
"""

from __future__ import annotations

from datetime import timedelta

from accounts import conf as _accounts_conf
from config.settings.base import BASE_DIR, IS_PRODUCTION, IS_TEST, PUBLIC_URL
from config.settings.cache import REDIS_KEY_PREFIX
from config.settings.tasks import CELERY_BEAT_SCHEDULE
from core.env import REQUIRED, env_choice, env_int, env_str, env_url

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
