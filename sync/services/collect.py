"""Collection: purge old tombstones (raising the horizon), expire idle devices, drop old
stored mutation results. Runs from Celery beat (sync.tasks), one workspace at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.entities import adapters
from core.tenancy import set_db_context
from sync.models import Conflict, MutationResult, SyncClient
from workspaces.models import Workspace

# The operator identity of the collector (RLS: maintenance may see every member's private
# tombstones of a workspace; app.operator_id only ever holds this in sync.tasks).
COLLECTOR_OPERATOR_ID = uuid.uuid5(uuid.NAMESPACE_URL, "dbworkbench:sync-collector")


@dataclass
class CollectReport:
    tombstones: int = 0
    horizon: int = 0
    devices: int = 0
    results: int = 0


def workspace_ids_for_collection() -> list[uuid.UUID]:
    """Every workspace's id, read through the operator context (maintenance only)."""
    with transaction.atomic():
        set_db_context(workspace_id=None, user_id=None, operator_id=COLLECTOR_OPERATOR_ID)
        return list(Workspace.objects.order_by("created_at").values_list("id", flat=True))


def sync_collect_workspace(*, workspace_id: uuid.UUID | str, now: Any = None) -> CollectReport:
    """Purge tombstones deleted more than SYNC_TOMBSTONE_DAYS ago and raise the workspace's
    horizon to the highest purged version (older cursors then reset); expire devices idle for
    SYNC_DEVICE_IDLE_DAYS with their stored results; drop results older than
    SYNC_RESULT_RETENTION_DAYS."""
    now = now or timezone.now()
    report = CollectReport()
    tombstone_cutoff = now - timedelta(days=settings.SYNC_TOMBSTONE_DAYS)
    with transaction.atomic():
        set_db_context(workspace_id=workspace_id, user_id=None, operator_id=COLLECTOR_OPERATOR_ID)
        with connection.cursor() as cursor:
            # The clock row lock orders the purge with writers: a pull's snapshot sees both the
            # purge and the raised horizon, or neither.
            cursor.execute(
                "SELECT horizon FROM core_workspaceclock WHERE workspace_id = %s FOR UPDATE",
                [str(workspace_id)],
            )
            found = cursor.fetchone()
            horizon = int(found[0]) if found else 0
            purged_max = 0
            for model in [a.model for a in adapters().values()] + [Conflict]:
                table = model._meta.db_table
                cursor.execute(
                    f'WITH gone AS (DELETE FROM "{table}" WHERE workspace_id = %s AND deleted '  # noqa: S608 - table names come from models
                    "AND deleted_at < %s RETURNING version) "
                    "SELECT coalesce(max(version), 0), count(*) FROM gone",
                    [str(workspace_id), tombstone_cutoff],
                )
                top, count = cursor.fetchone() or (0, 0)
                purged_max = max(purged_max, int(top))
                report.tombstones += int(count)
            if found and purged_max > horizon:
                cursor.execute(
                    "UPDATE core_workspaceclock SET horizon = %s WHERE workspace_id = %s",
                    [purged_max, str(workspace_id)],
                )
                horizon = purged_max
            report.horizon = horizon

        idle_cutoff = now - timedelta(days=settings.SYNC_DEVICE_IDLE_DAYS)
        idle = SyncClient.objects.filter(workspace_id=workspace_id, updated_at__lt=idle_cutoff)
        for client in idle:
            MutationResult.objects.filter(
                workspace_id=workspace_id, user_id=client.user_id, client_id=client.client_id
            ).delete()
        report.devices = idle.delete()[0]
        result_cutoff = now - timedelta(days=settings.SYNC_RESULT_RETENTION_DAYS)
        report.results = MutationResult.objects.filter(
            workspace_id=workspace_id, created_at__lt=result_cutoff
        ).delete()[0]
    return report


def device_forget(*, workspace: Any, user: Any, client_id: str) -> bool:
    """Forget one of the caller's devices and its stored results; its next push starts again
    at mutation 1."""
    MutationResult.objects.filter(
        workspace_id=workspace.pk, user_id=user.pk, client_id=client_id
    ).delete()
    deleted, _ = SyncClient.objects.filter(
        workspace_id=workspace.pk, user_id=user.pk, client_id=client_id
    ).delete()
    return deleted > 0
