"""The pull cursor: opaque to clients, signed, bound to its workspace.

A cursor is `<version>.<horizon>.<mac>`, base64url-encoded; the MAC is an HMAC (Django's
`salted_hmac`, keyed by SECRET_KEY) over the workspace id, the version and the horizon. A cursor
that does not verify — forged, truncated, from another workspace, or signed under another key —
decodes to None and the pull answers `reset: true`.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

_SALT = "sync.cursor.v1"


@dataclass(frozen=True)
class Cursor:
    version: int
    horizon: int


def _mac(workspace_id: uuid.UUID | str, version: int, horizon: int) -> str:
    message = f"{uuid.UUID(str(workspace_id))}:{version}:{horizon}"
    return salted_hmac(_SALT, message, algorithm="sha256").hexdigest()[:32]


def encode_cursor(*, workspace_id: uuid.UUID | str, version: int, horizon: int) -> str:
    raw = f"{version}.{horizon}.{_mac(workspace_id, version, horizon)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, *, workspace_id: uuid.UUID | str) -> Cursor | None:
    """The cursor, or None when it cannot be trusted (the caller then resets the client)."""
    if not token or len(token) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        version_text, horizon_text, mac = raw.split(".")
        version, horizon = int(version_text), int(horizon_text)
    except (ValueError, UnicodeDecodeError):
        return None
    if version < 0 or horizon < 0:
        return None
    if not hmac.compare_digest(mac, _mac(workspace_id, version, horizon)):
        return None
    return Cursor(version, horizon)
