"""The workspace export document (docs/data.md, "Export format"): its format names and version,
the entities it carries, and the passphrase envelope that seals it.

    {"format": "dbworkbench-export", "version": 1, "exported_at": "...", "scope": "workspace",
     "source": {...}, "secrets_included": false,
     "entities": {"connection": [...], "saved_query": [...], "query_history": [...],
                  "chat": [...], "chat_message": [...]}}

Rows are in their sync wire form (core.entities adapters), so the document is what a sync pull
would show, plus a few server-side message fields. With a passphrase the document is sealed into
an envelope (scrypt + AES-256-GCM, `seal_document`).

The entities are walked through the entity registry, so this app imports no feature app
(connections, queries, chats). Reads are in portability.selectors, the audited export and the
import in portability.services.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.entities import EntityAdapter, adapter_for
from core.entity_writes import validation_error
from core.exceptions import ApplicationError

FORMAT = "dbworkbench-export"
ENCRYPTED_FORMAT = "dbworkbench-export-encrypted"
VERSION = 1
# Import order: referenced entities before the rows that reference them.
ENTITY_ORDER = ("connection", "saved_query", "query_history", "chat", "chat_message")
MIN_PASSPHRASE = 12
MAX_PASSPHRASE = 1024
# scrypt work factor of new exports (N = 2**17, r = 8, p = 1: 128 MiB, OWASP's recommendation);
# imports accept N between 2**14 and 2**17 only, so a crafted file cannot make the server
# spend more.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_N_RANGE = (2**14, 2**17)


def entity_adapters() -> list[tuple[str, type[EntityAdapter]]]:
    """(entity name, adapter) of every registered entity a document carries, in ENTITY_ORDER."""
    found = []
    for name in ENTITY_ORDER:
        adapter = adapter_for(name)
        if adapter is not None:
            found.append((name, adapter))
    return found


def manager(adapter: type[EntityAdapter]) -> Any:
    return adapter.model._default_manager  # every synced model has a workspace


# --- passphrase envelope -----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise _bad_envelope(f"{name} must be base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_envelope(f"{name} is not valid base64.") from None


def _bad_envelope(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_export")


def _header_aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _check_passphrase(passphrase: Any) -> str:
    if not isinstance(passphrase, str) or not MIN_PASSPHRASE <= len(passphrase) <= MAX_PASSPHRASE:
        raise validation_error(
            "passphrase", f"must be {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters."
        )
    return passphrase


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def seal_document(document: dict[str, Any], passphrase: str) -> dict[str, Any]:
    """The document encrypted under a key derived from `passphrase` (scrypt), with AES-256-GCM.
    The envelope's header (format, version, KDF and cipher parameters) is the associated data,
    so none of it can be changed without the decryption failing."""
    passphrase = _check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": ENCRYPTED_FORMAT,
        "version": VERSION,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
    }
    plaintext = json.dumps(document, separators=(",", ":")).encode("utf-8")
    key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _header_aad(header))
    return {**header, "ciphertext": _b64(ciphertext)}


def open_document(envelope: dict[str, Any], passphrase: Any) -> dict[str, Any]:
    """The document inside an envelope made by seal_document; 400 on a wrong passphrase or a
    tampered envelope (the two are indistinguishable, by design)."""
    if passphrase is None:
        raise ApplicationError(
            "This export is encrypted: send its passphrase.", code="passphrase_required"
        )
    passphrase = _check_passphrase(passphrase)
    if envelope.get("version") != VERSION:
        raise ApplicationError(
            "This encrypted export's version is not supported.", code="unsupported_export"
        )
    kdf, cipher = envelope.get("kdf"), envelope.get("cipher")
    if not isinstance(kdf, dict) or not isinstance(cipher, dict):
        raise _bad_envelope("The envelope lacks its kdf or cipher parameters.")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if (
        kdf.get("name") != "scrypt"
        or not isinstance(n, int)
        or not SCRYPT_N_RANGE[0] <= n <= SCRYPT_N_RANGE[1]
        or n & (n - 1)
        or r != SCRYPT_R
        or p != SCRYPT_P
    ):
        raise _bad_envelope("Unsupported key derivation parameters.")
    if cipher.get("name") != "AES-256-GCM":
        raise _bad_envelope("Unsupported cipher.")
    salt = _unb64(kdf.get("salt"), "kdf.salt")
    nonce = _unb64(cipher.get("nonce"), "cipher.nonce")
    ciphertext = _unb64(envelope.get("ciphertext"), "ciphertext")
    if not 16 <= len(salt) <= 64 or len(nonce) != 12 or len(ciphertext) < 16:
        raise _bad_envelope("The envelope's salt, nonce or ciphertext has the wrong size.")
    header = {k: envelope[k] for k in ("format", "version", "kdf", "cipher")}
    key = _derive(passphrase, salt, n, r, p)
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _header_aad(header))
    except InvalidTag:
        raise ApplicationError(
            "The passphrase does not open this export (or the file was changed).",
            code="export_passphrase_invalid",
        ) from None
    try:
        document = json.loads(plaintext)
    except ValueError:
        raise _bad_envelope("The decrypted export is not JSON.") from None
    if not isinstance(document, dict):
        raise _bad_envelope("The decrypted export is not a JSON object.")
    return document
