"""Settings for `AI_BENCH_POOLED=1` runs of bench/ai_latency_bench.py: the project's settings
plus two process-wide pools the service does not (yet) configure, to measure what they save on
every request under ASGI, where each request runs in a thread of its own and so opens its own
PostgreSQL connection and its own Redis cache connection:

- Django's psycopg pool (`OPTIONS["pool"]`, Django 5.1+);
- one Redis connection pool per process for the cache (sessions), instead of one per thread.
"""

from typing import Any

import redis

from config.settings import *  # noqa: F403
from config.settings import CACHES, DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"]["OPTIONS"],  # type: ignore[dict-item]
    "pool": {"min_size": 4, "max_size": 40, "timeout": 10},
}


class SharedRedisPool(redis.ConnectionPool):
    """`from_url` hands every caller in the process the same pool for a URL."""

    _shared: dict[str, "SharedRedisPool"] = {}

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "SharedRedisPool":
        pool = cls._shared.get(url)
        if pool is None:
            pool = cls._shared[url] = super().from_url(url, **kwargs)
        return pool


CACHES["default"]["OPTIONS"] = {
    **CACHES["default"]["OPTIONS"],
    "pool_class": "ai_pooled_settings.SharedRedisPool",
}
