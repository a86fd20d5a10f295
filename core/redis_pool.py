"""One Redis connection pool per process for Django's cache.

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
