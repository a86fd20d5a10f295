"""Django's Redis cache, fitted to a Redis that other deployments, test runs and Celery share.

- `RedisCache.clear()` deletes this cache's keys (its KEY_PREFIX) only. Django's own flushes the
  whole Redis database: the Celery queues, the AI streams and every other user's keys with it.
- One Redis connection pool per process (below).

Django keeps a cache object per thread (per request context under ASGI), and its Redis backend
builds a connection pool per cache object: every ASGI request would open, and leave to the
garbage collector, a new TCP connection to Redis. `CACHES[...]["OPTIONS"]["pool_class"]` points
here so that every cache object of the process shares one thread-safe pool per URL and options
(redis-py pools also notice a fork and start afresh in the child).
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple[str, tuple[tuple[str, str], ...]], SharedConnectionPool] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> SharedConnectionPool:
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._shared_lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool


class RedisCache(DjangoRedisCache):
    def clear(self) -> None:
        if not self.key_prefix:
            raise RuntimeError("refusing to clear a Redis cache without KEY_PREFIX")
        client = self._cache.get_client(None, write=True)
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)
