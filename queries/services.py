"""Writes on saved queries (shared: members and up) and query history (private to its author,
append-only: recorded and deleted, never changed), plus history retention.

Every write goes through the entity adapter (validation, encryption of SQL and error texts) and
the version clock, in the caller's transaction bound to the workspace.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from core.entity_writes import (
    api_writer,
    check_author,
    entity_create,
    entity_tombstone,
    entity_tombstone_many,
    entity_update,
    get_row,
)
from core.exceptions import PermissionDenied
from core.tenancy.system import system_context
from core.versioning import VersionClock
from queries.entity import QueryHistoryEntity, SavedQueryEntity
from queries.models import QueryHistory, SavedQuery
from workspaces import entitlements
from workspaces.models import Membership, Role, role_at_least

logger = logging.getLogger(__name__)

PURGE_BATCH = 1000


def _require_writer(membership: Membership, action: str) -> None:
    if not role_at_least(membership.role, Role.MEMBER):
        raise PermissionDenied(f"Your role ({membership.role}) cannot {action}.")


# --- saved queries ---------------------------------------------------------------------------


def saved_query_create(
    *, membership: Membership, fields: dict[str, Any], saved_query_id: uuid.UUID | None = None
) -> SavedQuery:
    """Save a query (counts against the plan's `saved_queries` limit)."""
    _require_writer(membership, "save queries")
    workspace = membership.workspace
    clock = VersionClock.reserve(workspace.pk)  # serialises this workspace's creates
    entitlements.check_can_create_saved_query(workspace)
    row = entity_create(
        SavedQueryEntity,
        workspace_id=workspace.pk,
        user=membership.user,
        fields=fields,
        writer=api_writer(membership.user),
        row_id=saved_query_id,
        clock=clock,
    )
    assert isinstance(row, SavedQuery)  # noqa: S101 - narrowing for mypy
    return row


def saved_query_update(
    *,
    membership: Membership,
    saved_query_id: uuid.UUID,
    fields: dict[str, Any],
    expected_version: int | None = None,
) -> SavedQuery:
    _require_writer(membership, "change saved queries")
    row = get_row(
        SavedQueryEntity,
        workspace_id=membership.workspace_id,
        row_id=saved_query_id,
        for_update=True,
    )
    entity_update(
        SavedQueryEntity,
        row,
        fields=fields,
        writer=api_writer(membership.user),
        expected_version=expected_version,
    )
    assert isinstance(row, SavedQuery)  # noqa: S101 - narrowing for mypy
    return row


def saved_query_delete(
    *, membership: Membership, saved_query_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Tombstone a saved query; its SQL is erased."""
    _require_writer(membership, "delete saved queries")
    row = get_row(
        SavedQueryEntity,
        workspace_id=membership.workspace_id,
        row_id=saved_query_id,
        for_update=True,
    )
    entity_tombstone(
        SavedQueryEntity,
        row,
        writer=api_writer(membership.user),
        expected_version=expected_version,
    )


# --- query history (private, append-only) ----------------------------------------------------


def history_record(
    *, membership: Membership, fields: dict[str, Any], history_id: uuid.UUID | None = None
) -> QueryHistory:
    """Append one executed statement to the caller's history (any role: it is their own).
    `executed_at` defaults to now."""
    data = dict(fields)
    if data.get("executed_at") is None:
        data["executed_at"] = timezone.now().isoformat()
    row = entity_create(
        QueryHistoryEntity,
        workspace_id=membership.workspace_id,
        user=membership.user,
        fields=data,
        writer=api_writer(membership.user),
        row_id=history_id,
    )
    assert isinstance(row, QueryHistory)  # noqa: S101 - narrowing for mypy
    return row


def history_delete(
    *, membership: Membership, history_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Delete one of the caller's history rows (tombstone: SQL and error text erased)."""
    row = get_row(
        QueryHistoryEntity, workspace_id=membership.workspace_id, row_id=history_id, for_update=True
    )
    check_author(QueryHistoryEntity, row, membership.user)
    entity_tombstone(
        QueryHistoryEntity,
        row,
        writer=api_writer(membership.user),
        expected_version=expected_version,
    )


def history_delete_all(*, membership: Membership, connection_id: str | None = None) -> int:
    """Delete all of the caller's history in this workspace (or of one connection). Returns how
    many rows were deleted."""
    rows = QueryHistory.objects.filter(
        workspace_id=membership.workspace_id, author_id=membership.user_id
    )
    if connection_id:
        rows = rows.filter(connection_id=connection_id)
    return entity_tombstone_many(QueryHistoryEntity, rows, writer=api_writer(membership.user))


def history_purge_expired(
    *, workspace_id: uuid.UUID, older_than: datetime, batch_size: int = PURGE_BATCH
) -> int:
    """Hard-delete the workspace's history rows (every author's, tombstones included) executed
    before `older_than`, one short transaction per batch. Rows are removed, not tombstoned:
    clients apply the same retention locally, and tombstones of expired rows would only grow
    the sync log. Returns how many rows were deleted."""
    expired = Q(executed_at__lt=older_than) | Q(executed_at__isnull=True, created_at__lt=older_than)
    total = 0
    while True:
        with system_context(workspace_id=workspace_id):
            ids = list(
                QueryHistory.objects.filter(expired, workspace_id=workspace_id)
                .order_by("row_id")
                .values_list("row_id", flat=True)[:batch_size]
            )
            if not ids:
                return total
            deleted, _ = QueryHistory.objects.filter(
                workspace_id=workspace_id, row_id__in=ids
            ).delete()
        total += deleted
        logger.info("history retention: %s rows purged in %s", deleted, workspace_id)


def history_retention_enforce(*, now: datetime | None = None) -> dict[str, int]:
    """Apply every workspace's history retention (its own setting capped by its plan's, see
    workspaces.entitlements.history_retention_days). Returns rows purged per workspace id."""
    from workspaces.models import Workspace

    now = now or timezone.now()
    with system_context():
        workspaces = list(Workspace.objects.order_by("created_at", "id"))
    purged: dict[str, int] = {}
    for workspace in workspaces:
        days = entitlements.history_retention_days(workspace)
        if days is None:
            continue
        count = history_purge_expired(
            workspace_id=workspace.pk, older_than=now - timedelta(days=days)
        )
        if count:
            purged[str(workspace.pk)] = count
    return purged
