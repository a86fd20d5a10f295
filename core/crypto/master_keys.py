"""Master keys (KEKs) from the environment: parsing and validation of ENCRYPTION_KEYS.

Format: entries separated by `;` (or newlines), each `name=value`:

    ENCRYPTION_KEYS="primary=k2; k1=<base64 of 32 random bytes>; k2=<base64 of 32 random bytes>"

* a key id is 1-32 characters of letters, digits, `-` and `_`; ids are stored next to every
  wrapped data key, so they are labels, not secrets, and must never be reused for other bytes;
* the value is standard or URL-safe base64, padding optional, and must decode to exactly 32
  bytes (`openssl rand -base64 32`);
* `primary=<id>` is required and names the key that wraps new data keys; the others only unwrap.

Every problem raises ImproperlyConfigured naming the variable and the entry, never any part of
a key. This module is imported by config/settings/crypto.py, so it must not touch django.conf.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured

from core.crypto.primitives import KEY_BYTES

VARIABLE = "ENCRYPTION_KEYS"
ENV_PROVIDER = "core.crypto.providers.EnvMasterKeyProvider"
KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
DEV_KEY_ID = "dev-insecure"
# Publicly known (it is derived from this string in a public repository): development and test
# only. Production refuses it even when it is set explicitly.
_DEV_KEY = hashlib.sha256(b"dbworkbench dev-only INSECURE master key; never in production").digest()


class MasterKeys:
    """A validated set of master keys with a primary. Its repr names the ids, never the keys,
    and it refuses to be pickled (so it cannot end up in a cache or a task payload)."""

    __slots__ = ("_keys", "insecure", "primary_id")

    def __init__(self, keys: Mapping[str, bytes], primary_id: str, *, insecure: bool = False):
        if primary_id not in keys:
            raise ValueError("the primary key id must be one of the keys")
        for key_id, master_key in keys.items():
            if not KEY_ID_RE.fullmatch(key_id) or len(master_key) != KEY_BYTES:
                raise ValueError("key ids must match KEY_ID_RE and keys must be 32 bytes")
        self._keys = dict(keys)
        self.primary_id = primary_id
        self.insecure = insecure

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def get(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        flag = ", INSECURE dev key" if self.insecure else ""
        return f"MasterKeys(primary={self.primary_id!r}, ids={sorted(self._keys)!r}{flag})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("MasterKeys cannot be pickled or copied")


def _fail(message: str, variable: str) -> NoReturn:
    raise ImproperlyConfigured(f"Environment variable {variable}: {message}")


def _decode(text: str) -> bytes | None:
    raw = text.replace("-", "+").replace("_", "/")
    raw += "=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_master_keys(value: str, *, variable: str = VARIABLE) -> MasterKeys:
    """Parse the ENCRYPTION_KEYS format (see the module docstring)."""
    keys: dict[str, bytes] = {}
    primary: str | None = None
    entries = [entry.strip() for entry in re.split(r"[;\n]", value)]
    entries = [entry for entry in entries if entry]
    for position, entry in enumerate(entries, start=1):
        name, sep, encoded = entry.partition("=")
        name, encoded = name.strip(), encoded.strip()
        if not sep or not name or not encoded:
            _fail(f"entry {position} is not of the form id=base64key or primary=id.", variable)
        if name == "primary":
            if primary is not None:
                _fail("primary is given more than once.", variable)
            if not KEY_ID_RE.fullmatch(encoded):
                _fail("primary must name a key id (1-32 of A-Z a-z 0-9 - _).", variable)
            primary = encoded
            continue
        if not KEY_ID_RE.fullmatch(name):
            _fail(
                f"entry {position}: the key id must be 1-32 characters of A-Z a-z 0-9 - _.",
                variable,
            )
        if name in keys:
            _fail(f"key id {name!r} is defined more than once.", variable)
        master_key = _decode(encoded)
        if master_key is None:
            _fail(f"key {name!r} is not valid base64.", variable)
        if len(master_key) != KEY_BYTES:
            _fail(
                f"key {name!r} must decode to {KEY_BYTES} bytes (256 bits), got {len(master_key)}.",
                variable,
            )
        if len(set(master_key)) < 8:
            _fail(f"key {name!r} is not random bytes (a placeholder?).", variable)
        for other_id, other_key in keys.items():
            if hmac.compare_digest(other_key, master_key):
                _fail(f"keys {other_id!r} and {name!r} are the same bytes.", variable)
        keys[name] = master_key
    if not keys:
        _fail("defines no keys.", variable)
    if primary is None:
        _fail("names no primary key; add primary=<key id>.", variable)
    if primary not in keys:
        _fail(f"primary names key id {primary!r}, which is not defined.", variable)
    return MasterKeys(keys, primary)


def dev_master_keys() -> MasterKeys:
    """The fixed development/test master key (insecure by construction)."""
    return MasterKeys({DEV_KEY_ID: _DEV_KEY}, DEV_KEY_ID, insecure=True)


def load_master_keys(
    value: str | None, *, production: bool, required: bool, variable: str = VARIABLE
) -> MasterKeys | None:
    """What config/settings/crypto.py calls. Production: the variable is required when the env
    provider is in use, and the public dev key is refused. Elsewhere an unset variable means the
    dev key."""
    if value is None or not value.strip():
        if production:
            if required:
                raise ImproperlyConfigured(
                    f"Environment variable {variable} is required but not set "
                    "(format: primary=<id>;<id>=<base64 of 32 bytes>; see docs/encryption.md)."
                )
            return None
        return dev_master_keys()
    keys = parse_master_keys(value, variable=variable)
    if production:
        for key_id in keys:
            master_key = keys.get(key_id)
            if master_key is not None and hmac.compare_digest(master_key, _DEV_KEY):
                _fail(f"key {key_id!r} is the public development key.", variable)
    return keys
