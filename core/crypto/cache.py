"""In-process cache of unwrapped data keysets.

Plaintext keys live in this process's memory only: never Redis, the Django cache, logs or task
payloads (DataKeyset refuses to be pickled). Bounded by entry count with LRU eviction, and each
entry expires `ttl_seconds` after it was loaded, hits or not, so a rotation or a crypto-shred
done by another process reaches this one within the TTL. Thread-safe; loading happens outside
the lock, and a load that raced an invalidate() is returned but not cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NoReturn

from core.crypto.aad import Id, canonical_id
from core.crypto.data_keys import DataKeyset


class DataKeyCache:
    def __init__(
        self, *, max_size: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_size < 0 or ttl_seconds < 0:
            raise ValueError("max_size and ttl_seconds must be >= 0 (0 disables the cache)")
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, DataKeyset]] = OrderedDict()
        self._lock = threading.Lock()
        self._epoch = 0

    @classmethod
    def from_settings(cls) -> DataKeyCache:
        from django.conf import settings

        return cls(
            max_size=settings.ENCRYPTION_KEY_CACHE_SIZE,
            ttl_seconds=settings.ENCRYPTION_KEY_CACHE_TTL_SECONDS,
        )

    @property
    def enabled(self) -> bool:
        return self.max_size > 0 and self.ttl_seconds > 0

    def get(self, workspace_id: Id) -> DataKeyset | None:
        key = canonical_id(workspace_id, "workspace_id")
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, keyset = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return keyset

    def put(self, keyset: DataKeyset) -> None:
        with self._lock:
            self._put(keyset)

    def _put(self, keyset: DataKeyset) -> None:
        if not self.enabled:
            return
        now = self._clock()
        for key in [k for k, (expires_at, _) in self._entries.items() if now >= expires_at]:
            del self._entries[key]
        self._entries[keyset.workspace_id] = (now + self.ttl_seconds, keyset)
        self._entries.move_to_end(keyset.workspace_id)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def get_or_load(self, workspace_id: Id, load: Callable[[], DataKeyset]) -> DataKeyset:
        keyset = self.get(workspace_id)
        if keyset is not None:
            return keyset
        with self._lock:
            epoch = self._epoch
        keyset = load()
        if keyset.workspace_id != canonical_id(workspace_id, "workspace_id"):
            raise ValueError("the loader returned another workspace's keyset")
        with self._lock:
            if epoch == self._epoch:
                self._put(keyset)
        return keyset

    def invalidate(self, workspace_id: Id) -> None:
        """Forget one workspace (after adding or promoting a DEK, or deleting the workspace)."""
        key = canonical_id(workspace_id, "workspace_id")
        with self._lock:
            self._epoch += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"DataKeyCache(entries={len(self._entries)}, max_size={self.max_size}, "
            f"ttl_seconds={self.ttl_seconds})"
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("the data key cache cannot be pickled or copied")
