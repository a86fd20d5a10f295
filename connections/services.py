"""Writes on connections: create, update, delete (tombstone) and revealing secrets (audited).

Every write goes through ConnectionEntity (validation, encryption) and the version clock, in
the caller's transaction bound to the workspace. Members and up write; viewers read metadata
only and never receive a secret.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from connections import connection_strings as cs
from connections.entity import ConnectionEntity
from connections.models import SECRET_FIELDS, Connection
from connections.selectors import connection_secrets
from core.entity_writes import (
    api_writer,
    entity_create,
    entity_tombstone,
    entity_update,
    get_row,
    validation_error,
)
from core.exceptions import PermissionDenied
from core.versioning import VersionClock
from workspaces import entitlements
from workspaces.audit import Action, audit_record
from workspaces.models import Membership, Role, role_at_least
from workspaces.secrets import Channel, Principal, require_secrets

# Option keys a connection string describes; `ssh` is never in a connection string.
_URL_OPTION_KEYS = ("tls", "params", "hosts", "srv", "protocol", "instance")


def _require_writer(membership: Membership, action: str) -> None:
    if not role_at_least(membership.role, Role.MEMBER):
        raise PermissionDenied(f"Your role ({membership.role}) cannot {action}.")


def connection_fields_from_url(
    url: str, fields: dict[str, Any], *, current: Connection | None = None
) -> dict[str, Any]:
    """Merge a connection string into `fields`: what the string says fills engine, host, port,
    database, username, password and the TLS options; fields given explicitly win. SSH
    options are kept (a connection string has none)."""
    engine = fields.get("engine") or (current.engine if current is not None else None)
    try:
        parsed = cs.parse_connection_string(url, engine=engine)
    except cs.ConnectionStringError as error:
        raise validation_error("url", f"{error.field}: {error.reason}") from None
    merged = parsed.fields()
    base_options = dict(current.options) if current is not None else {}
    options = {k: v for k, v in base_options.items() if k not in _URL_OPTION_KEYS}
    options.update(parsed.options)
    if isinstance(fields.get("options"), dict):
        options.update(fields["options"])
    merged["options"] = options
    merged.update({k: v for k, v in fields.items() if k != "options"})
    return merged


def _check_options(fields: dict[str, Any]) -> None:
    options = fields.get("options")
    if isinstance(options, dict):
        try:
            cs.validate_options(options)
        except cs.ConnectionStringError as error:
            raise validation_error("options", f"{error.field}: {error.reason}") from None


def connection_create(
    *,
    membership: Membership,
    fields: dict[str, Any],
    url: str | None = None,
    connection_id: uuid.UUID | None = None,
) -> Connection:
    """Create a connection from fields and/or a connection string. Counts against the plan's
    `connections` limit (402 plan_limit)."""
    _require_writer(membership, "create connections")
    data = connection_fields_from_url(url, fields) if url else dict(fields)
    data.setdefault("options", {})
    _check_options(data)
    workspace = membership.workspace
    # Reserving first locks the workspace's clock: concurrent creates count one at a time.
    clock = VersionClock.reserve(workspace.pk)
    entitlements.check_can_create_connection(workspace)
    row = entity_create(
        ConnectionEntity,
        workspace_id=workspace.pk,
        user=membership.user,
        fields=data,
        writer=api_writer(membership.user),
        row_id=connection_id,
        clock=clock,
    )
    assert isinstance(row, Connection)  # noqa: S101 - narrowing for mypy
    return row


def connection_update(
    *,
    membership: Membership,
    connection_id: uuid.UUID,
    fields: dict[str, Any],
    url: str | None = None,
    expected_version: int | None = None,
) -> Connection:
    """Change a connection. A secret set to null is removed; an absent one is kept."""
    _require_writer(membership, "change connections")
    row = get_row(
        ConnectionEntity,
        workspace_id=membership.workspace_id,
        row_id=connection_id,
        for_update=True,
    )
    assert isinstance(row, Connection)  # noqa: S101 - narrowing for mypy
    data = connection_fields_from_url(url, fields, current=row) if url else dict(fields)
    _check_options(data)
    entity_update(
        ConnectionEntity,
        row,
        fields=data,
        writer=api_writer(membership.user),
        expected_version=expected_version,
    )
    return row


def connection_delete(
    *, membership: Membership, connection_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Tombstone a connection; its secrets are erased. Saved queries and chats keep their
    connection id (sync references may point at tombstones)."""
    _require_writer(membership, "delete connections")
    row = get_row(
        ConnectionEntity,
        workspace_id=membership.workspace_id,
        row_id=connection_id,
        for_update=True,
    )
    entity_tombstone(
        ConnectionEntity, row, writer=api_writer(membership.user), expected_version=expected_version
    )


def connection_reveal(
    *, membership: Membership, connection_id: uuid.UUID, request: HttpRequest | None = None
) -> dict[str, Any]:
    """The connection's secrets, for members and up, with an audit event naming which secrets
    were returned (never their values). Includes the full connection URL when the engine has
    a URL form."""
    require_secrets(
        Principal.of(membership),
        Channel.REVEAL,
        workspace=membership.workspace,
        action="see connection secrets",
    )
    row = get_row(ConnectionEntity, workspace_id=membership.workspace_id, row_id=connection_id)
    assert isinstance(row, Connection)  # noqa: S101 - narrowing for mypy
    secrets = connection_secrets(row)
    try:
        url: str | None = cs.build_connection_url(
            cs.from_fields(
                engine=row.engine,
                host=row.host,
                port=row.port,
                database=row.database,
                username=row.username,
                password=secrets["password"],
                options=row.options,
            )
        )
    except (cs.ConnectionStringError, KeyError, TypeError, ValueError, AttributeError):
        url = None  # options written by an older client that this module cannot express
    audit_record(
        action=Action.SECRETS_REVEALED,
        workspace_id=membership.workspace_id,
        actor=membership.user,
        request=request,
        target_type="connection",
        target_id=row.id,
        metadata={"fields": sorted(name for name in SECRET_FIELDS if secrets[name] is not None)},
    )
    return {"id": str(row.id), "version": row.version, **secrets, "url": url}
