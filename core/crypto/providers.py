"""Master key providers: who wraps and unwraps data keys.

The default, EnvMasterKeyProvider, holds the master keys of ENCRYPTION_KEYS in process memory. A
KMS-backed provider subclasses MasterKeyProvider, implements the four abstract members, and is
selected with the ENCRYPTION_MASTER_KEY_PROVIDER setting (a dotted path). If the class has a
`from_settings(settings)` classmethod it is used to build the instance, else the class is called
with no arguments. See docs/encryption.md, "Plugging a KMS".
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from django.core.exceptions import ImproperlyConfigured

from core.crypto.aad import frame
from core.crypto.errors import DecryptionError, UnknownKeyError
from core.crypto.master_keys import ENV_PROVIDER, VARIABLE, MasterKeys, parse_master_keys
from core.crypto.primitives import open_sealed, seal

SETTING = "ENCRYPTION_MASTER_KEY_PROVIDER"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under master key `kek_id`. Store both: the id in its own (indexed)
    column, because "which data keys still use k1?" is the question that retires k1."""

    kek_id: str
    blob: bytes

    def __repr__(self) -> str:
        return f"WrappedKey(kek_id={self.kek_id!r}, blob=<{len(self.blob)} bytes>)"


class MasterKeyProvider(ABC):
    """Wraps data keys under the primary master key; unwraps under any configured one.

    `aad` binds the wrapped key to its owner (see core.crypto.aad.data_key_aad); a provider must
    authenticate it and the key id, and raise DecryptionError (UnknownKeyError for an id it does
    not have) on any failure, without naming the cause.
    """

    @property
    @abstractmethod
    def primary_id(self) -> str: ...

    @property
    @abstractmethod
    def key_ids(self) -> frozenset[str]: ...

    @abstractmethod
    def wrap(self, plaintext_key: bytes, aad: bytes) -> WrappedKey: ...

    @abstractmethod
    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes: ...

    def rewrap(self, wrapped: WrappedKey, aad: bytes) -> WrappedKey:
        """The same data key, wrapped under the current primary. Returns `wrapped` itself when
        it already is. The plaintext never leaves this call; a KMS provider should override this
        with the service's own re-encrypt call so it never leaves the KMS either."""
        if wrapped.kek_id == self.primary_id:
            return wrapped
        return self.wrap(self.unwrap(wrapped, aad), aad)

    def retire_blockers(self, kek_id: str, in_use_ids: Iterable[str]) -> list[str]:
        """Why master key `kek_id` cannot be removed yet (empty: it can). `in_use_ids` are the
        distinct kek ids of all stored wrapped data keys, e.g.
        `WorkspaceDataKey.objects.values_list("kek_id", flat=True).distinct()`."""
        blockers = []
        if kek_id == self.primary_id:
            blockers.append(f"{kek_id!r} is the primary master key; promote another one first")
        if kek_id in set(in_use_ids):
            blockers.append(f"data keys are still wrapped under {kek_id!r}; rewrap them first")
        return blockers

    def can_retire(self, kek_id: str, in_use_ids: Iterable[str]) -> bool:
        return not self.retire_blockers(kek_id, in_use_ids)

    def unavailable_key_ids(self, in_use_ids: Iterable[str]) -> frozenset[str]:
        """Ids that stored data keys use but this provider cannot unwrap: a deploy check should
        refuse to start when this is not empty (a removed key means lost data)."""
        return frozenset(in_use_ids) - self.key_ids


class EnvMasterKeyProvider(MasterKeyProvider):
    """Master keys from ENCRYPTION_KEYS, held in memory. Wrapped blob (format 1):

        0x01 | salt (32) | nonce (12) | commitment (32) | GCM(data key) (32) | tag (16)

    = 125 bytes for a 32-byte data key, with the kek id and the caller's aad authenticated.
    """

    _FORMAT = 0x01
    _PURPOSE = b"kek-wrap"

    def __init__(self, keys: MasterKeys) -> None:
        self._keys = keys

    @classmethod
    def from_settings(cls, settings: Any) -> EnvMasterKeyProvider:
        keys = getattr(settings, VARIABLE, None)
        if not isinstance(keys, MasterKeys):
            raise ImproperlyConfigured(
                f"{VARIABLE} is not configured (settings.{VARIABLE} must be parsed MasterKeys)."
            )
        return cls(keys)

    @classmethod
    def from_value(cls, value: str, *, variable: str = VARIABLE) -> EnvMasterKeyProvider:
        return cls(parse_master_keys(value, variable=variable))

    @property
    def primary_id(self) -> str:
        return self._keys.primary_id

    @property
    def key_ids(self) -> frozenset[str]:
        return self._keys.ids

    @property
    def insecure(self) -> bool:
        return self._keys.insecure

    def _bound(self, kek_id: str, aad: bytes) -> bytes:
        return frame(kek_id) + aad

    def wrap(self, plaintext_key: bytes, aad: bytes) -> WrappedKey:
        kek_id = self._keys.primary_id
        master_key = self._keys.get(kek_id)
        assert master_key is not None  # noqa: S101 - MasterKeys guarantees the primary exists
        blob = seal(
            master_key,
            purpose=self._PURPOSE,
            header=bytes([self._FORMAT]),
            plaintext=plaintext_key,
            bound=self._bound(kek_id, aad),
        )
        return WrappedKey(kek_id, blob)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        master_key = self._keys.get(wrapped.kek_id)
        if master_key is None:
            raise UnknownKeyError(wrapped.kek_id, kind="master key")
        if not wrapped.blob or wrapped.blob[0] != self._FORMAT:
            raise DecryptionError("unknown wrapped key format")
        return open_sealed(
            master_key,
            purpose=self._PURPOSE,
            header_size=1,
            sealed=wrapped.blob,
            bound=self._bound(wrapped.kek_id, aad),
        )

    def __repr__(self) -> str:
        return f"EnvMasterKeyProvider({self._keys!r})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("master key providers cannot be pickled or copied")


@functools.cache
def get_master_key_provider() -> MasterKeyProvider:
    """The process-wide provider named by settings.ENCRYPTION_MASTER_KEY_PROVIDER (built once;
    tests that change settings call get_master_key_provider.cache_clear())."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = getattr(settings, SETTING, ENV_PROVIDER)
    try:
        factory = import_string(path)
    except ImportError:
        raise ImproperlyConfigured(f"{SETTING}: cannot import {path!r}.") from None
    from_settings = getattr(factory, "from_settings", None)
    provider = from_settings(settings) if from_settings is not None else factory()
    if not isinstance(provider, MasterKeyProvider):
        raise ImproperlyConfigured(f"{SETTING}: {path!r} did not build a MasterKeyProvider.")
    return provider
