"""Committed AES-256-GCM: the one construction every ciphertext in core.crypto uses.

Plain AES-GCM is not key-committing: someone who knows two keys can craft one ciphertext that
decrypts (to different plaintexts) under both. Following the AWS Encryption SDK's committing
suites, each message draws a random 256-bit salt and derives from the long-term key, with
HKDF-SHA256, a one-message encryption key and a separate 256-bit commitment that is stored in
the clear. Decryption recomputes the commitment first and refuses a mismatch, so a ciphertext
opens under exactly one key (finding a second would need an HKDF/HMAC-SHA256 collision).

Sealed layout (`header` is chosen by the caller and is fixed-length per format):

    header | salt (32) | nonce (12) | commitment (32) | GCM ciphertext | GCM tag (16)

The GCM associated data is everything before the ciphertext followed by the caller's `bound`
bytes, so every header bit is authenticated. The nonce is random too; with a fresh key per
message it is belt and braces.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.crypto.errors import DecryptionError

KEY_BYTES = 32
SALT_BYTES = 32
NONCE_BYTES = 12
COMMITMENT_BYTES = 32
TAG_BYTES = 16
BODY_OVERHEAD = SALT_BYTES + NONCE_BYTES + COMMITMENT_BYTES + TAG_BYTES


_BLOCK = 64  # SHA-256 block size: HMAC pads keys of up to 64 bytes with zeros
_ZEROS = bytes(_BLOCK - KEY_BYTES)
_IPAD_BYTE, _OPAD_BYTE = 0x36, 0x5C
# For public keys (the salt): bytes.translate XORs every byte with the pad through a table.
_IPAD_TABLE = bytes(b ^ _IPAD_BYTE for b in range(256))
_OPAD_TABLE = bytes(b ^ _OPAD_BYTE for b in range(256))
# For secret keys (the PRK): one big-integer XOR, no table indexed by secret bytes.
_IPAD_INT = int.from_bytes(bytes([_IPAD_BYTE]) * KEY_BYTES, "big")
_OPAD_INT = int.from_bytes(bytes([_OPAD_BYTE]) * KEY_BYTES, "big")
_IPAD_TAIL = bytes([_IPAD_BYTE]) * (_BLOCK - KEY_BYTES)
_OPAD_TAIL = bytes([_OPAD_BYTE]) * (_BLOCK - KEY_BYTES)
_sha256 = hashlib.sha256


def _hmac_public_key(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) for a 32-byte key that is not secret (the stored salt)."""
    padded = key + _ZEROS
    inner = _sha256(padded.translate(_IPAD_TABLE) + message).digest()
    return _sha256(padded.translate(_OPAD_TABLE) + inner).digest()


def _secret_key_pads(key: bytes) -> tuple[bytes, bytes]:
    """(key XOR ipad, key XOR opad) padded to a block, for a secret 32-byte HMAC key."""
    number = int.from_bytes(key, "big")
    return (
        (number ^ _IPAD_INT).to_bytes(KEY_BYTES, "big") + _IPAD_TAIL,
        (number ^ _OPAD_INT).to_bytes(KEY_BYTES, "big") + _OPAD_TAIL,
    )


def derive_message_keys(
    master_key: bytes, salt: bytes, purpose: bytes, header: bytes
) -> tuple[bytes, bytes]:
    """(one-message AES key, commitment) for `master_key` and `salt`. `purpose` separates the
    value format from key wrapping; `header` (format version, key id) binds the derivation to
    what the message says about itself.

    Both are HKDF-SHA256 (RFC 5869) outputs of 32 bytes with the same salt and input key and
    different info strings, so they share the extract step: PRK = HMAC(salt, key), then one
    expand block each, T(1) = HMAC(PRK, info || 0x01). HMAC is written out (RFC 2104: two
    SHA-256 calls over the key XOR a pad) with the C SHA-256 of hashlib, and the two expansions
    share the PRK's padded keys: byte for byte what `HKDF(SHA256(), 32, salt, info).derive(key)`
    returns (tests pin it against `cryptography`'s HKDF and `hmac.digest`), at about a third of
    the cost of three `hmac.digest` calls (OpenSSL 3 sets up an HMAC context per call). The
    salt is public, so its pads go through a translation table; the PRK's through an integer
    XOR, so no table is indexed by secret bytes.
    """
    if len(salt) != SALT_BYTES or len(master_key) != KEY_BYTES:
        raise ValueError("keys and salts are 32 bytes")
    context = purpose + b"\x00" + header + b"\x01"
    prk = _hmac_public_key(salt, master_key)
    inner_pad, outer_pad = _secret_key_pads(prk)
    message_key = _sha256(outer_pad + _sha256(inner_pad + b"dbw.enc\x00" + context).digest())
    commitment = _sha256(outer_pad + _sha256(inner_pad + b"dbw.commit\x00" + context).digest())
    return message_key.digest(), commitment.digest()


def seal(
    master_key: bytes, *, purpose: bytes, header: bytes, plaintext: bytes, bound: bytes
) -> bytes:
    if len(master_key) != KEY_BYTES:
        raise ValueError("keys are 32 bytes")
    salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    message_key, commitment = derive_message_keys(master_key, salt, purpose, header)
    prefix = header + salt + nonce + commitment
    return prefix + AESGCM(message_key).encrypt(nonce, plaintext, prefix + bound)


def open_sealed(
    master_key: bytes, *, purpose: bytes, header_size: int, sealed: bytes, bound: bytes
) -> bytes:
    """Inverse of seal(). Raises DecryptionError, never anything that names the cause."""
    if len(sealed) < header_size + BODY_OVERHEAD:
        raise DecryptionError("ciphertext is truncated")
    header = sealed[:header_size]
    salt_end = header_size + SALT_BYTES
    nonce_end = salt_end + NONCE_BYTES
    prefix_end = nonce_end + COMMITMENT_BYTES
    salt = sealed[header_size:salt_end]
    nonce = sealed[salt_end:nonce_end]
    commitment = sealed[nonce_end:prefix_end]
    message_key, expected = derive_message_keys(master_key, salt, purpose, header)
    if not hmac.compare_digest(expected, commitment):
        raise DecryptionError()
    try:
        return AESGCM(message_key).decrypt(nonce, sealed[prefix_end:], sealed[:prefix_end] + bound)
    except InvalidTag:
        raise DecryptionError() from None
