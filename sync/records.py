"""Conflict records: how they are written and how they look on the wire."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from core.crypto.fields import seal_json, unseal_json
from core.entities import _rfc3339, _wire, adapter_for
from core.versioning import SyncedModel
from sync.models import Conflict

CONFLICT_ENTITY = "conflict"
COPY_SUFFIX = " (conflict copy)"


def wire_value(value: Any) -> Any:
    """A field value as JSON sends it (UUIDs and times as strings), for storing and comparing."""
    if isinstance(value, dict):
        return {key: wire_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire_value(item) for item in value]
    return _wire(value)


def row_fields(adapter: Any, row: SyncedModel, names: Any) -> dict[str, Any]:
    return {name: wire_value(adapter.read(row, name)) for name in names}


def set_sides(
    conflict: Conflict, *, client_fields: dict[str, Any], server_fields: dict[str, Any]
) -> None:
    seal_json(conflict, "client_fields_encrypted", client_fields)
    seal_json(conflict, "server_fields_encrypted", server_fields)


def client_fields(conflict: Conflict) -> dict[str, Any]:
    return unseal_json(conflict, "client_fields_encrypted") or {}


def server_fields(conflict: Conflict) -> dict[str, Any]:
    return unseal_json(conflict, "server_fields_encrypted") or {}


def new_conflict_id() -> uuid.UUID:
    return uuid.uuid4()


def _strip(fields: dict[str, Any], secret: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key not in secret}


def serialize_conflict(conflict: Conflict, *, include_secrets: bool) -> dict[str, Any]:
    """A conflict record as `GET conflicts` returns it and as `data` of a pulled `conflict`."""
    adapter = adapter_for(conflict.entity)
    secret: frozenset[str] = (
        frozenset() if include_secrets or adapter is None else adapter.secret_fields
    )
    return {
        "id": str(conflict.id),
        "entity": conflict.entity,
        "entity_id": str(conflict.entity_id),
        "status": conflict.status,
        "policy": conflict.policy,
        "base_version": conflict.base_version,
        "server_version": conflict.server_version,
        "client_fields": _strip(client_fields(conflict), secret),
        "server_fields": _strip(server_fields(conflict), secret),
        "conflicting_fields": list(conflict.conflicting_fields or []),
        "client_id": conflict.client_id or None,
        "device_name": conflict.device_name,
        "mutation_id": conflict.mutation_id,
        "created_at": _rfc3339(conflict.created_at),
        "updated_at": _rfc3339(conflict.updated_at),
        "resolved_at": _rfc3339(conflict.resolved_at),
        "resolution": conflict.resolution or None,
        "resolved_by": str(conflict.resolved_by_id) if conflict.resolved_by_id else None,
        "copy_id": str(conflict.copy_id) if conflict.copy_id else None,
        "version": conflict.version,
        "deleted": conflict.deleted,
    }


def in_workspace(model: type[SyncedModel], workspace_id: Any) -> QuerySet[Any]:
    """A synced table's rows in one workspace. (SyncedModel itself declares no `workspace`
    field, every concrete entity does; this keeps the type checker out of it.)"""
    return model._default_manager.filter(**{"workspace_id": workspace_id})
