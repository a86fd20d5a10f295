"""Audit events of the key rotation commands (connections/management/commands). Commands have
no request and no user: the actor is empty and the metadata says which command ran."""

from __future__ import annotations

import uuid
from typing import Any

from workspaces.audit import audit_record

MASTER_KEY_ROTATED = "crypto.master_key_rotated"
DATA_KEYS_REWRAPPED = "crypto.data_keys_rewrapped"
DATA_KEY_ROTATED = "crypto.data_key_rotated"
DATA_KEY_RETIRED = "crypto.data_key_retired"
MASTER_KEY_RETIRED = "crypto.master_key_retired"


def key_event(
    action: str, *, workspace_id: uuid.UUID | None, command: str, metadata: dict[str, Any]
) -> None:
    """Append an audit event (inside the caller's transaction, bound by core.key_rotation to the
    system operator, so it commits with the change it records). Key ids and versions only."""
    audit_record(
        action=action,
        workspace_id=workspace_id,
        target_type="encryption_key",
        target_id=str(metadata.get("version") or metadata.get("primary") or ""),
        metadata={"command": command, **metadata},
    )
