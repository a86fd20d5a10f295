"""Direct Redis access for what the cache API cannot do atomically (single-use codes)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def key(*parts: str) -> str:
    """A key under this deployment's REDIS_KEY_PREFIX."""
    return settings.REDIS_KEY_PREFIX + "accounts:" + ":".join(parts)
