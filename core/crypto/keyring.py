"""Keyring: workspace id -> unwrapped keyset, through the cache. What services call.

The workspace app builds one per process, giving it a loader that reads the workspace's stored
data keys (a WrappedKeyset); the keyring unwraps them with the master key provider and caches
the result. Values then go through `keyring.encrypt(plaintext, aad)` and
`keyring.decrypt(ciphertext, aad)`; the workspace comes from the Aad.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NoReturn

from core.crypto import values
from core.crypto.aad import Aad, ColumnAad, Id, canonical_id
from core.crypto.cache import DataKeyCache
from core.crypto.data_keys import DataKeyset, WrappedKeyset, unwrap_keyset
from core.crypto.errors import DecryptionError, UnknownKeyError
from core.crypto.providers import MasterKeyProvider

LoadWrapped = Callable[[Id], WrappedKeyset]


class Keyring:
    def __init__(
        self, *, provider: MasterKeyProvider, load_wrapped: LoadWrapped, cache: DataKeyCache
    ) -> None:
        self.provider = provider
        self.cache = cache
        self._load_wrapped = load_wrapped

    def _load(self, workspace_id: Id) -> DataKeyset:
        stored = self._load_wrapped(workspace_id)
        if canonical_id(stored.workspace_id) != canonical_id(workspace_id):
            raise ValueError("load_wrapped returned another workspace's keys")
        return unwrap_keyset(self.provider, stored)

    def keyset(self, workspace_id: Id) -> DataKeyset:
        return self.cache.get_or_load(workspace_id, lambda: self._load(workspace_id))

    def encrypt(self, plaintext: bytes, aad: Aad) -> bytes:
        return self.keyset(aad.workspace_id).encrypt(plaintext, aad)

    def decrypt(self, ciphertext: bytes, aad: Aad) -> bytes:
        """Decrypt; a value made with a DEK version newer than the cached keyset (another
        process rotated) reloads the keyset once before giving up."""
        keyset = self.keyset(aad.workspace_id)
        try:
            return keyset.decrypt(ciphertext, aad)
        except UnknownKeyError:
            if values.ciphertext_key_version(ciphertext) <= max(keyset.versions):
                raise
        self.cache.invalidate(aad.workspace_id)
        return self.keyset(aad.workspace_id).decrypt(ciphertext, aad)

    def encrypt_text(self, plaintext: str, aad: Aad) -> str:
        return values.to_text(self.encrypt(plaintext.encode("utf-8"), aad))

    def decrypt_text(self, token: str, aad: Aad) -> str:
        plaintext = self.decrypt(values.from_text(token), aad)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("plaintext is not UTF-8 text") from None

    def decrypt_texts(
        self, column: ColumnAad, items: Sequence[tuple[Id, str | None]]
    ) -> list[str | None]:
        """decrypt_text for a page of one column: `(row_id, token)` pairs of the column's
        workspace in, plaintexts (None for None) out, in order. One keyset lookup for the page;
        a value on a DEK version newer than the cached keyset reloads it once, as decrypt does.
        """
        keyset = self.keyset(column.workspace_id)
        try:
            return keyset.decrypt_texts(column, items)
        except UnknownKeyError as error:
            if not isinstance(error.key_id, int) or error.key_id <= max(keyset.versions):
                raise
        self.cache.invalidate(column.workspace_id)
        return self.keyset(column.workspace_id).decrypt_texts(column, items)

    def invalidate(self, workspace_id: Id) -> None:
        self.cache.invalidate(workspace_id)

    def __repr__(self) -> str:
        return f"Keyring(provider={self.provider!r}, cache={self.cache!r})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("keyrings cannot be pickled or copied")
