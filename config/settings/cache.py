"""Redis, always: Celery broker, cache, rate limits and streams. REDIS_URL and REDIS_KEY_PREFIX
are defined here for every area after this one; Django's cache is the one setting of its own.
"""

from __future__ import annotations

from core.env import env_str, env_url

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
