"""Audit events written from the ground floor. The audit log belongs to the workspaces app, which
core must not import; that app registers its writer here from its AppConfig.ready():

    from core import audit
    from workspaces.audit import audit_record

    audit.register_recorder(audit_record)

and core code (the key rotation commands) calls `audit.record(...)`. Recording with nothing
registered raises, so an event is never dropped silently.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class Recorder(Protocol):
    def __call__(
        self,
        *,
        action: str,
        workspace_id: uuid.UUID | str | None,
        target_type: str = ...,
        target_id: object = ...,
        metadata: dict[str, Any] | None = ...,
    ) -> object: ...


_recorder: Recorder | None = None


def register_recorder(recorder: Recorder) -> Recorder:
    """Make `recorder` the writer of core's audit events (once; registering it again is a
    no-op, registering a different one is an error)."""
    global _recorder
    if _recorder is not None and _recorder is not recorder:
        raise ValueError(f"An audit recorder is already registered: {_recorder!r}.")
    _recorder = recorder
    return recorder


def record(
    *,
    action: str,
    workspace_id: uuid.UUID | str | None,
    target_type: str = "",
    target_id: object = "",
    metadata: dict[str, Any] | None = None,
) -> object:
    """Append one audit event through the registered recorder (in the caller's transaction and
    database context). No actor: core's events come from commands and jobs. Never put secrets
    in metadata."""
    if _recorder is None:
        raise ImproperlyConfigured(
            "No audit recorder is registered (core.audit.register_recorder); the workspaces "
            "app registers one in its AppConfig.ready(). Is it in INSTALLED_APPS?"
        )
    return _recorder(
        action=action,
        workspace_id=workspace_id,
        target_type=target_type,
        target_id=target_id,
        metadata=metadata,
    )
