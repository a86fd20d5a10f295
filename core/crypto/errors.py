"""Errors of the crypto layer.

None of them ever carries key material, plaintext, ciphertext or associated data: they end up in
logs, Sentry events and API error bodies. Key *ids* (`k2`, DEK version 3) are not secret and may
appear.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by core.crypto (besides ImproperlyConfigured)."""


class DecryptionError(CryptoError):
    """A ciphertext or wrapped key did not authenticate: wrong key, wrong associated data (moved
    to another row, column or workspace), truncated, or tampered with. Deliberately does not say
    which, and chains no cause."""

    def __init__(self, message: str = "ciphertext failed authentication") -> None:
        super().__init__(message)


class UnknownKeyError(DecryptionError):
    """The ciphertext names a key (a master key id or a data key version) that is not loaded."""

    def __init__(self, key_id: str | int, *, kind: str) -> None:
        self.key_id = key_id
        self.kind = kind
        super().__init__(f"{kind} {key_id!r} is not available")
