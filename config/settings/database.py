"""PostgreSQL, always. DATABASE_URL is the role the service runs as (no superuser, no BYPASSRLS,
not the owner of the tables); DATABASE_OWNER_URL is the role that owns the schema and runs
migrations (Fly's release_command). scripts/services.py provides both locally.
"""

from __future__ import annotations

from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_float, env_int, env_str, env_url

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
    config: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    )
    config["ENGINE"] = "django.db.backends.postgresql"
    options = dict(config.get("OPTIONS") or {})
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
