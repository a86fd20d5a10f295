"""Reads of connections. Listing and reading never decrypt: secrets leave the database only
through `connections.services.connection_reveal`, which is audited."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from connections.entity import ConnectionEntity
from connections.models import SECRET_FIELDS, Connection
from core.entity_writes import get_row
from workspaces.secrets import Channel, may_receive_secrets

ORDERINGS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at")


def connection_list(
    *,
    workspace_id: uuid.UUID,
    engine: str | None = None,
    tag: str | None = None,
    q: str | None = None,
) -> QuerySet[Connection]:
    """Live connections of the workspace, filtered."""
    queryset = Connection.objects.filter(workspace_id=workspace_id, deleted=False)
    if engine:
        queryset = queryset.filter(engine=engine)
    if tag:
        queryset = queryset.filter(tags__contains=[tag])
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(host__icontains=q))
    return queryset


def connection_get(*, workspace_id: uuid.UUID, connection_id: uuid.UUID) -> Connection:
    row = get_row(ConnectionEntity, workspace_id=workspace_id, row_id=connection_id)
    assert isinstance(row, Connection)  # noqa: S101 - narrowing for mypy
    return row


def connection_engine(*, workspace_id: Any, connection_id: Any) -> str | None:
    """The engine of a live connection of the workspace (one column read), None when there is
    no such connection: the assistant's SQL dialect."""
    engine: str | None = (
        Connection.objects.filter(workspace_id=workspace_id, id=connection_id, deleted=False)
        .values_list("engine", flat=True)
        .first()
    )
    return engine


def connection_metadata(row: Connection) -> dict[str, Any]:
    """Everything a viewer may see: the wire form without secrets, plus which secrets are set
    (a column check, nothing is decrypted). REST reads carry no secret to anyone
    (workspaces.secrets, Channel.REST_READ): they leave only through reveal and export."""
    data = ConnectionEntity.serialize(
        row, include_secrets=may_receive_secrets(None, Channel.REST_READ)
    )
    for name in SECRET_FIELDS:
        data[f"has_{name}"] = getattr(row, f"{name}_encrypted") is not None
    data["created_by"] = str(row.created_by_id) if row.created_by_id else None
    return data


def connection_secrets(row: Connection) -> dict[str, str | None]:
    """The decrypted secrets (caller: connection_reveal, which asks workspaces.secrets)."""
    return {name: ConnectionEntity.read(row, name) for name in SECRET_FIELDS}
