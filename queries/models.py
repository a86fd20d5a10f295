from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from core.crypto.fields import EncryptedField
from core.versioning import SyncedModel, synced_constraints, synced_indexes


class SavedQuery(SyncedModel):
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    sql_encrypted = EncryptedField()
    # A plain id, not a foreign key: synced references may point at rows a device has not
    # pulled yet, or at a tombstone.
    connection_id = models.UUIDField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    favorite = models.BooleanField(default=False)
    folder = models.CharField(max_length=500, blank=True, default="")

    sync_entity: ClassVar[str] = "saved_query"
    sync_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "description",
        "sql",
        "connection_id",
        "tags",
        "favorite",
        "folder",
    )

    class Meta:
        indexes = [
            *synced_indexes("savedq"),
            models.Index(fields=("workspace", "folder"), name="savedq_ws_folder"),
        ]
        constraints = synced_constraints("savedq")
        verbose_name_plural = "saved queries"

    def __str__(self) -> str:
        return self.name


class QueryHistory(SyncedModel):
    """One executed statement. Private to its author; append-only."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sql_encrypted = EncryptedField()
    connection_id = models.UUIDField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    rows = models.BigIntegerField(null=True, blank=True)
    success = models.BooleanField(null=True, blank=True)
    error_encrypted = EncryptedField()

    sync_entity: ClassVar[str] = "query_history"
    sync_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "connection_id",
        "executed_at",
        "duration_ms",
        "rows",
        "success",
        "error",
    )

    class Meta:
        indexes = [
            *synced_indexes("qhist"),
            models.Index(fields=("workspace", "author", "-executed_at"), name="qhist_author_time"),
        ]
        constraints = synced_constraints("qhist")
        verbose_name_plural = "query history"

    def __str__(self) -> str:
        return f"query {self.id} at {self.executed_at}"
