"""The stored format of an encrypted value (format version 1).

    offset  size  field
    0       1     format version, 0x01
    1       4     data key version (uint32, big-endian): which DEK of the workspace keyset
    5       32    HKDF salt (random)
    37      12    AES-GCM nonce (random, 96 bits)
    49      32    key commitment
    81      n     AES-256-GCM ciphertext (n = plaintext length)
    81+n    16    AES-GCM tag

97 bytes of overhead. The GCM associated data is bytes 0..80 followed by `Aad.encode()`; see
core.crypto.primitives for the key derivation. The text form is unpadded base64url of the same
bytes. docs/encryption.md describes the format for people who do not read Python.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import pybase64

from core.crypto.aad import Aad
from core.crypto.errors import DecryptionError, UnknownKeyError
from core.crypto.key import DataKey
from core.crypto.primitives import BODY_OVERHEAD, open_sealed, seal

FORMAT_V1 = 0x01
_HEADER = struct.Struct(">BI")
HEADER_SIZE = _HEADER.size
OVERHEAD = HEADER_SIZE + BODY_OVERHEAD
PURPOSE = b"value"


def encrypt_bytes(data_key: DataKey, plaintext: bytes, aad: Aad) -> bytes:
    """Encrypt under one data key. Most callers want DataKeyset.encrypt (primary key)."""
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise TypeError("plaintext must be bytes; use encrypt_text for str")
    header = _HEADER.pack(FORMAT_V1, data_key.version)
    return seal(
        data_key.material,
        purpose=PURPOSE,
        header=header,
        plaintext=bytes(plaintext),
        bound=aad.encode(),
    )


def ciphertext_key_version(ciphertext: bytes) -> int:
    """The data key version a ciphertext was made with, without decrypting it (the re-encryption
    job uses it to find values still on an old version). Unauthenticated until decrypted."""
    if len(ciphertext) < OVERHEAD:
        raise DecryptionError("ciphertext is truncated")
    version, key_version = _HEADER.unpack_from(ciphertext)
    if version != FORMAT_V1:
        raise DecryptionError("unknown ciphertext format version")
    return int(key_version)


def decrypt_bytes(keys: Mapping[int, DataKey], ciphertext: bytes, aad: Aad) -> bytes:
    """Decrypt with whichever of `keys` (by version) the ciphertext names."""
    return decrypt_bound(keys, ciphertext, aad.encode())


def decrypt_bound(keys: Mapping[int, DataKey], ciphertext: bytes, bound: bytes) -> bytes:
    """decrypt_bytes with the associated data already encoded (`Aad.encode()` or
    `ColumnAad.encode(row_id)`): what batch decryption of one column calls per value."""
    key_version = ciphertext_key_version(ciphertext)
    data_key = keys.get(key_version)
    if data_key is None:
        raise UnknownKeyError(key_version, kind="data key version")
    return open_sealed(
        data_key.material,
        purpose=PURPOSE,
        header_size=HEADER_SIZE,
        sealed=bytes(ciphertext),
        bound=bound,
    )


def to_text(ciphertext: bytes) -> str:
    """Unpadded base64url, for a text column."""
    return pybase64.b64encode(ciphertext, altchars=b"-_").rstrip(b"=").decode("ascii")


def from_text(token: str) -> bytes:
    """Inverse of to_text. A malformed token is a DecryptionError like any other bad value.

    Decoded by pybase64 (SIMD; the standard library's decoder is the largest single cost of a
    decryption otherwise), validating: a character outside the alphabet is refused. Its
    validation lets the standard "+" and "/" through next to the base64url "-" and "_", so
    they are refused here; every character of a valid token carries 6 bits, so the decoded
    length must be exactly floor(3 * len / 4), which refuses "=" padding and truncations.
    """
    if "+" in token or "/" in token:
        raise DecryptionError("ciphertext is not valid base64url")
    length = len(token)
    if length % 4 == 1:
        raise DecryptionError("ciphertext is not valid base64url")
    try:
        decoded = pybase64.b64decode(token + "=" * (-length % 4), altchars=b"-_", validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise DecryptionError("ciphertext is not valid base64url") from None
    if len(decoded) != length * 3 // 4:
        raise DecryptionError("ciphertext is not valid base64url")
    return decoded
