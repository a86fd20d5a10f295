"""Data keys (DEKs): one versioned keyset per workspace, wrapped by the master key provider.

A workspace has DEK versions 1, 2, ... of which one is primary. New values are encrypted under
the primary; every ciphertext records its version, so older versions keep decrypting until the
re-encryption job has moved every value off them and they are deleted. Stored form of each
version: (workspace id, version, WrappedKey.kek_id, WrappedKey.blob, is_primary).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from core.crypto import values
from core.crypto.aad import Aad, ColumnAad, Id, canonical_id, data_key_aad
from core.crypto.errors import DecryptionError
from core.crypto.key import DataKey
from core.crypto.primitives import KEY_BYTES
from core.crypto.providers import MasterKeyProvider, WrappedKey


class DataKeyset:
    """The unwrapped DEK versions of one workspace, with a primary.

    encrypt*/decrypt* take an Aad whose workspace must be this keyset's: encrypting another
    workspace's value with these keys is a programming error (ValueError); decrypting one is a
    DecryptionError like any other mismatch.
    """

    __slots__ = ("_keys", "primary_version", "workspace_id")

    def __init__(self, workspace_id: Id, keys: Iterable[DataKey], primary_version: int) -> None:
        self.workspace_id = canonical_id(workspace_id, "workspace_id")
        self._keys: dict[int, DataKey] = {}
        for key in keys:
            if key.version in self._keys:
                raise ValueError(f"data key version {key.version} given twice")
            self._keys[key.version] = key
        if primary_version not in self._keys:
            raise ValueError("the primary version must be one of the keys")
        self.primary_version = primary_version

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keys))

    @property
    def primary(self) -> DataKey:
        return self._keys[self.primary_version]

    def encrypt(self, plaintext: bytes, aad: Aad) -> bytes:
        if aad.workspace_key != self.workspace_id:
            raise ValueError("Aad.workspace_id is not this keyset's workspace")
        return values.encrypt_bytes(self.primary, plaintext, aad)

    def decrypt(self, ciphertext: bytes, aad: Aad) -> bytes:
        if aad.workspace_key != self.workspace_id:
            raise DecryptionError()
        return values.decrypt_bytes(self._keys, ciphertext, aad)

    def encrypt_text(self, plaintext: str, aad: Aad) -> str:
        """UTF-8 text in, unpadded base64url text out (for a text column)."""
        return values.to_text(self.encrypt(plaintext.encode("utf-8"), aad))

    def decrypt_text(self, token: str, aad: Aad) -> str:
        plaintext = self.decrypt(values.from_text(token), aad)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("plaintext is not UTF-8 text") from None

    def decrypt_texts(
        self, column: ColumnAad, items: Iterable[tuple[Id, str | None]]
    ) -> list[str | None]:
        """decrypt_text for many values of one column: `(row_id, token)` pairs in, plaintexts
        (None for a None token) out, in order. The same checks as one by one (each value is
        bound to its own row id); the column's associated data is encoded once."""
        if column.workspace_key != self.workspace_id:
            raise DecryptionError()
        keys, encode = self._keys, column.encode
        decrypt, from_text = values.decrypt_bound, values.from_text
        out: list[str | None] = []
        for row_id, token in items:
            if token is None:
                out.append(None)
                continue
            plaintext = decrypt(keys, from_text(token), encode(row_id))
            try:
                out.append(plaintext.decode("utf-8"))
            except UnicodeDecodeError:
                raise DecryptionError("plaintext is not UTF-8 text") from None
        return out

    def needs_reencryption(self, ciphertext: bytes) -> bool:
        """True when the value was made with a version other than the primary."""
        return values.ciphertext_key_version(ciphertext) != self.primary_version

    def __repr__(self) -> str:
        return (
            f"DataKeyset(workspace_id={self.workspace_id!r}, versions={list(self.versions)}, "
            f"primary={self.primary_version}, keys=<redacted>)"
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("data keysets cannot be pickled or copied")


@dataclass(frozen=True)
class WrappedKeyset:
    """A workspace's keyset as stored: what the loader given to Keyring returns."""

    workspace_id: Id
    primary_version: int
    keys: Mapping[int, WrappedKey] = field(default_factory=dict)


def generate_data_key(version: int) -> DataKey:
    """A fresh random 256-bit DEK."""
    return DataKey(version, os.urandom(KEY_BYTES))


def wrap_data_key(
    provider: MasterKeyProvider, *, workspace_id: Id, data_key: DataKey
) -> WrappedKey:
    return provider.wrap(data_key.material, data_key_aad(workspace_id, data_key.version))


def new_wrapped_data_key(
    provider: MasterKeyProvider, *, workspace_id: Id, version: int
) -> WrappedKey:
    """Generate and wrap a DEK in one step (workspace creation, DEK rotation): the plaintext
    never leaves this function."""
    return wrap_data_key(provider, workspace_id=workspace_id, data_key=generate_data_key(version))


def unwrap_data_key(
    provider: MasterKeyProvider, *, workspace_id: Id, version: int, wrapped: WrappedKey
) -> DataKey:
    return DataKey(version, provider.unwrap(wrapped, data_key_aad(workspace_id, version)))


def rewrap_data_key(
    provider: MasterKeyProvider, *, workspace_id: Id, version: int, wrapped: WrappedKey
) -> WrappedKey:
    """The same DEK wrapped under the provider's current primary master key (`wrapped` itself
    when it already is). Master key rotation runs this over every stored DEK."""
    return provider.rewrap(wrapped, data_key_aad(workspace_id, version))


def unwrap_keyset(provider: MasterKeyProvider, stored: WrappedKeyset) -> DataKeyset:
    return DataKeyset(
        stored.workspace_id,
        [
            unwrap_data_key(
                provider, workspace_id=stored.workspace_id, version=version, wrapped=wrapped
            )
            for version, wrapped in stored.keys.items()
        ],
        stored.primary_version,
    )
