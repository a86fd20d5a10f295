"""Parsers for the accounts settings in config/settings/accounts.py.

Pure functions with no Django model imports, so settings can call them. Each raises
ImproperlyConfigured naming the variable, never echoing a secret.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

EMAIL_BACKENDS = {
    "resend": "accounts.email.ResendEmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}

# Schemes a browser or OS treats specially: a deep link must never be one of these, or the
# one-time handoff code could be sent to a web page.
_RESERVED_SCHEMES = {
    "http",
    "https",
    "javascript",
    "data",
    "file",
    "ftp",
    "blob",
    "about",
    "mailto",
    "ws",
    "wss",
}
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.\-]{1,31}$")


def _load_rsa_pem(pem: str, variable: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    # Secrets stores often flatten newlines; accept the PEM with literal "\n" too.
    pem = pem.replace("\\n", "\n").strip() + "\n"
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"Environment variable {variable} must be an unencrypted PEM RSA private key."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ImproperlyConfigured(
            f"Environment variable {variable} must be an RSA private key of 2048 bits or more."
        )
    return pem


def _generate_rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_jwt_private_key(
    value: str | None, *, production: bool, dev_key_file: Path, variable: str = "JWT_PRIVATE_KEY"
) -> str:
    """The RSA key that signs access and refresh tokens.

    Production: required. Elsewhere, when unset, a development key is generated once and kept
    in `dev_key_file` (var/, git-ignored) so every local process (web, worker, test servers)
    signs and verifies with the same key.
    """
    if value:
        return _load_rsa_pem(value, variable)
    if production:
        raise ImproperlyConfigured(
            f"Environment variable {variable} is required but not set (PEM RSA private key, "
            "2048 bits or more; see docs/auth.md)."
        )
    if dev_key_file.exists():
        return _load_rsa_pem(dev_key_file.read_text(), str(dev_key_file))
    dev_key_file.parent.mkdir(parents=True, exist_ok=True)
    pem = _generate_rsa_pem()
    # Write to a temporary file and link it into place: of two processes racing, one wins and
    # both then use the winner's key.
    fd, tmp = tempfile.mkstemp(dir=dev_key_file.parent, prefix=".jwt-key-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, dev_key_file)
    finally:
        os.unlink(tmp)
    return _load_rsa_pem(dev_key_file.read_text(), str(dev_key_file))


def deep_link_scheme(value: str, variable: str = "APP_DEEP_LINK_SCHEME") -> str:
    scheme = value.strip().lower()
    if not _SCHEME_RE.match(scheme) or scheme in _RESERVED_SCHEMES:
        raise ImproperlyConfigured(
            f"Environment variable {variable} must be a custom URL scheme such as "
            f"'dbworkbench' (letters, digits, + . -; not a web scheme); got {value!r}."
        )
    return scheme


def provider_app(
    client_id: str | None, secret: str | None, *, id_variable: str, secret_variable: str
) -> dict[str, str] | None:
    """A provider's allauth APP entry, or None when the provider is not configured."""
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        missing = id_variable if not client_id else secret_variable
        raise ImproperlyConfigured(
            f"Environment variable {missing} is required when the other half of the "
            f"{id_variable.split('_')[0].title()} credentials is set."
        )
    return {"client_id": client_id, "secret": secret, "key": ""}


def mail_dir_name(prefix: str) -> str:
    """A directory name derived from REDIS_KEY_PREFIX, so parallel test runs never mix mail."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", prefix).strip("-.") or "default"


def url_host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "localhost"
