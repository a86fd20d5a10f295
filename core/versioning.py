"""One versioning path for every writer of synced rows.

Sync pushes, the REST API, assistant messages, conflict resolutions and imports all change
synced rows the same way:

    with db_context(workspace_id=ws, user_id=user.pk):
        clock = VersionClock.reserve(ws, count=len(changes))
        row.version = clock.next()
        row.touch_fields(["name", "sql"], version=row.version, writer="server")
        row.save()

`reserve` locks the workspace's clock row until the transaction ends, so writers of one
workspace commit in version order; `core_sync_guard` (a trigger on every synced table) rejects
a row whose version was not reserved by its own transaction, so no code path can skip this.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.db import connection, models
from django.utils import timezone

SERVER_WRITER = "server"


class VersionClock:
    """Versions reserved for the current transaction in one workspace."""

    def __init__(self, workspace_id: uuid.UUID | str, first: int, count: int) -> None:
        self.workspace_id = workspace_id
        self._next = first
        self.last = first + count - 1

    @classmethod
    def reserve(cls, workspace_id: uuid.UUID | str, count: int = 1) -> VersionClock:
        if connection.get_autocommit():
            raise RuntimeError("versions must be reserved inside a transaction")
        with connection.cursor() as cursor:
            cursor.execute("SELECT core_reserve_versions(%s, %s)", [str(workspace_id), count])
            (first,) = cursor.fetchone() or (None,)
        return cls(workspace_id, int(first), count)

    def next(self) -> int:
        if self._next > self.last:
            raise RuntimeError("more versions used than reserved")
        version = self._next
        self._next += 1
        return version

    @property
    def remaining(self) -> int:
        return self.last - self._next + 1


class SyncedModel(models.Model):
    """Base of every synced entity: a client-chosen UUID unique within its workspace, the
    workspace version that last wrote it, per-field versions for field-level merge, and a
    tombstone flag. The primary key is a private surrogate, so a client-chosen id that exists
    in another workspace never collides (and never reveals that it exists)."""

    row_id = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, editable=False)
    version = models.BigIntegerField()
    # {field: [version, writer]}: which version and which client last wrote each field.
    field_versions = models.JSONField(default=dict)
    deleted = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    # Entity name on the sync wire, and the fields clients may write.
    sync_entity: ClassVar[str] = ""
    sync_fields: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def touch_fields(self, fields: Any, *, version: int, writer: str) -> None:
        """Record that `fields` were written at `version` by `writer`, and stamp the row."""
        stamps = dict(self.field_versions or {})
        for field in fields:
            stamps[field] = [version, writer]
        self.field_versions = stamps
        self.version = version
        self.updated_at = timezone.now()

    def field_version(self, field: str) -> tuple[int, str]:
        stamp = (self.field_versions or {}).get(field)
        if not stamp:
            return (0, "")
        return int(stamp[0]), str(stamp[1])


def synced_indexes(prefix: str) -> list[models.Index]:
    return [models.Index(fields=("workspace_id", "version"), name=f"{prefix}_ws_version")]


def synced_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [models.UniqueConstraint(fields=("workspace", "id"), name=f"{prefix}_ws_id_unique")]
