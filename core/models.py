"""Ground-floor tables shared by every feature app: each workspace's version clock (sync) and
its encryption data keys. Both carry a plain `workspace_id` (no foreign key: core stands below
the workspaces app) and live under forced row-level security like any tenant table."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkspaceClock(models.Model):
    """The workspace's version counter. Every write to a synced table first reserves versions
    here, which locks this row until the writing transaction ends: writers of one workspace
    commit in version order, so a pull can never see version N+1 without N (docs/sync.md)."""

    workspace_id = models.UUIDField(primary_key=True)
    version = models.BigIntegerField(default=0)
    # First version reserved by the transaction `last_txid` (the guard trigger checks that a
    # synced row's version lies in [reserved_from, version] and was reserved by its own
    # transaction).
    reserved_from = models.BigIntegerField(default=1)
    last_txid = models.BigIntegerField(default=0)
    # Tombstones at or below this version were purged: older cursors must reset.
    horizon = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"clock {self.workspace_id} @ {self.version}"


class WorkspaceDataKey(models.Model):
    """One version of a workspace's data encryption key, wrapped by a master key."""

    id = models.BigAutoField(primary_key=True)
    workspace_id = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField()
    master_key_id = models.CharField(max_length=64)
    wrapped = models.BinaryField()
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("workspace_id", "version"), name="core_datakey_version_unique"
            ),
            models.UniqueConstraint(
                fields=("workspace_id",),
                condition=models.Q(is_primary=True),
                name="core_datakey_one_primary",
            ),
        ]

    def __str__(self) -> str:
        return f"data key v{self.version} of {self.workspace_id}"
