"""One data key (DEK) version: the key material encrypted values are sealed with
(`core.crypto.values`); `core.crypto.data_keys` holds a workspace's versions, wraps and
unwraps them."""

from __future__ import annotations

import hmac
from typing import NoReturn

from core.crypto.primitives import KEY_BYTES

MAX_VERSION = 0xFFFFFFFF


class DataKey:
    """One unwrapped DEK version. Redacted repr; cannot be pickled or copied, so it cannot be
    put in Redis, a Celery payload or a Django cache by accident."""

    __slots__ = ("_material", "version")

    def __init__(self, version: int, material: bytes) -> None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError("version must be an int")
        if not 1 <= version <= MAX_VERSION:
            raise ValueError("data key version must be in 1..2**32-1")
        if len(material) != KEY_BYTES:
            raise ValueError("data keys are 32 bytes")
        self.version = version
        self._material = bytes(material)

    @property
    def material(self) -> bytes:
        return self._material

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataKey):
            return NotImplemented
        return self.version == other.version and hmac.compare_digest(
            self._material, other._material
        )

    __hash__ = None  # type: ignore[assignment]  # unhashable on purpose (secret)

    def __repr__(self) -> str:
        return f"DataKey(version={self.version}, material=<redacted>)"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("data keys cannot be pickled or copied")
