"""Reads of sync state: pull pages, conflict records, devices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from core.entities import EntityAdapter, adapters
from core.models import WorkspaceClock
from core.versioning import SyncedModel
from sync.cursor import decode_cursor, encode_cursor
from sync.models import Conflict, ConflictStatus, SyncClient
from sync.records import CONFLICT_ENTITY, in_workspace, serialize_conflict


@dataclass
class PullPage:
    changes: list[dict[str, Any]]
    cursor: str
    has_more: bool
    reset: bool
    last_mutation_id: int


def _sources() -> list[tuple[str, type[SyncedModel], type[EntityAdapter] | None]]:
    sources: list[tuple[str, type[SyncedModel], type[EntityAdapter] | None]] = [
        (name, adapter.model, adapter) for name, adapter in sorted(adapters().items())
    ]
    sources.append((CONFLICT_ENTITY, Conflict, None))
    return sources


def set_repeatable_read(*, outermost: bool) -> None:
    """Must be the first statement of the transaction: every later read shares one snapshot.
    Nested in an outer transaction (tests that wrap each test in one) it cannot be chosen, and
    the outer transaction's level applies."""
    if not outermost:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def sync_pull(
    *, workspace: Any, user: Any, client_id: str, cursor: str | None, limit: int
) -> PullPage:
    """One page of changes after `cursor`, read from one REPEATABLE READ snapshot (the caller
    opened it): the changes, the clock and the client's `last_mutation_id` agree.

    Why no change is skipped: a writer reserves its versions by updating the workspace's clock
    row and holds that row locked until it commits, so writers commit in version order. In this
    snapshot the clock reads V, and every version up to V belongs to a transaction that is
    either visible here or rolled back; nothing at or below V can commit later. The cursor
    therefore only ever advances to a version at or below V (docs/sync.md).
    """
    clock = (
        WorkspaceClock.objects.filter(workspace_id=workspace.pk)
        .values_list("version", "horizon")
        .first()
    )
    snapshot, horizon = clock if clock is not None else (0, 0)
    last_mutation_id = (
        SyncClient.objects.filter(workspace_id=workspace.pk, user_id=user.pk, client_id=client_id)
        .values_list("last_mutation_id", flat=True)
        .first()
        or 0
    )
    reset = False
    after = 0
    if cursor:
        decoded = decode_cursor(cursor, workspace_id=workspace.pk)
        if decoded is None or decoded.version > snapshot or decoded.version < horizon:
            reset = True  # unreadable, from another workspace, from the future, or purged past
        else:
            after = decoded.version

    rows = _changed_rows(workspace.pk, after=after, upto=snapshot, limit=limit + 1)
    has_more = len(rows) > limit
    if has_more:
        boundary = rows[limit - 1][0]
        # Never split a version across pages: the page ends with every row of `boundary`.
        rows = [r for r in rows if r[0] < boundary] + _rows_at(workspace.pk, boundary)
        next_version = boundary
    else:
        next_version = snapshot
    include_secrets = bool(workspace.sync_secrets)
    changes = [_change(entity, row, adapter, include_secrets) for _, entity, row, adapter in rows]
    return PullPage(
        changes=changes,
        cursor=encode_cursor(workspace_id=workspace.pk, version=next_version, horizon=horizon),
        has_more=has_more,
        reset=reset,
        last_mutation_id=last_mutation_id,
    )


Row = tuple[int, str, SyncedModel, type[EntityAdapter] | None]


def _changed_rows(workspace_id: uuid.UUID, *, after: int, upto: int, limit: int) -> list[Row]:
    """The first `limit` rows by version in (after, upto], over every synced table. Each table
    answers from its (workspace_id, version) index with at most `limit` rows, so the cost is
    proportional to the page, not to the workspace."""
    rows: list[Row] = []
    for entity, model, adapter in _sources():
        found = (
            in_workspace(model, workspace_id)
            .filter(version__gt=after, version__lte=upto)
            .order_by("version")[:limit]
        )
        rows.extend((row.version, entity, row, adapter) for row in found)
    rows.sort(key=lambda r: (r[0], r[1], str(r[2].id)))
    return rows[:limit]


def _rows_at(workspace_id: uuid.UUID, version: int) -> list[Row]:
    rows: list[Row] = []
    for entity, model, adapter in _sources():
        found = in_workspace(model, workspace_id).filter(version=version)
        rows.extend((row.version, entity, row, adapter) for row in found)
    rows.sort(key=lambda r: (r[1], str(r[2].id)))
    return rows


def _change(
    entity: str, row: SyncedModel, adapter: type[EntityAdapter] | None, include_secrets: bool
) -> dict[str, Any]:
    if row.deleted:
        return {
            "entity": entity,
            "id": str(row.id),
            "op": "delete",
            "version": row.version,
            "data": None,
        }
    if isinstance(row, Conflict):
        data = serialize_conflict(row, include_secrets=include_secrets)
    elif adapter is None:
        raise TypeError(f"no adapter for {entity}")
    else:
        data = adapter.serialize(row, include_secrets=include_secrets)
    return {
        "entity": entity,
        "id": str(row.id),
        "op": "upsert",
        "version": row.version,
        "data": data,
    }


# --- conflicts and devices ----------------------------------------------------------------


CONFLICT_STATUSES = ("open", "resolved", "all")


def conflict_list(*, workspace: Any, status: str) -> models.QuerySet[Conflict]:
    """The workspace's conflict records the caller can see (row-level security hides those on
    other members' private rows)."""
    records = Conflict.objects.filter(workspace_id=workspace.pk)
    if status == "open":
        records = records.filter(status=ConflictStatus.OPEN)
    elif status == "resolved":
        records = records.filter(status=ConflictStatus.RESOLVED)
    return records


def device_list(*, workspace: Any, user: Any) -> models.QuerySet[SyncClient]:
    return SyncClient.objects.filter(workspace_id=workspace.pk, user_id=user.pk)
