"""Sync state: devices (clients) with their last processed mutation, the stored results that
answer replays, and conflict records (a synced entity of their own, `conflict` on the wire)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.crypto.fields import EncryptedField
from core.versioning import SyncedModel, synced_constraints, synced_indexes


class SyncClient(models.Model):
    """One install of a client app (a device) of one user in one workspace.

    `last_mutation_id` is written in the same transaction as the effects of that mutation:
    it is the exactly-once ledger. Rows are visible to the whole workspace (the device limit
    of the plan counts them all); the API lists only the caller's own.
    """

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=64)
    device_name = models.CharField(max_length=200, blank=True, default="")
    platform = models.CharField(max_length=64, blank=True, default="")
    app_version = models.CharField(max_length=64, blank=True, default="")
    last_mutation_id = models.BigIntegerField(default=0)
    last_push_at = models.DateTimeField(null=True, blank=True)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "user", "client_id"), name="sync_client_unique"
            )
        ]
        indexes = [models.Index(fields=("workspace", "updated_at"), name="sync_client_idle")]

    def __str__(self) -> str:
        return f"{self.client_id} of {self.user_id} in {self.workspace_id}"


class MutationResult(models.Model):
    """Stored results of processed mutations, returned again (as `duplicate`) on a replay.

    A push stores the results of the consecutive run of mutations it processed in one row:
    `mutation_id` is the first, `last_mutation_id` the last, and `result` the list of their
    results in order. A row with no `last_mutation_id` (written before batches) holds one
    mutation's result, the object itself. Runs of one client never overlap (each push starts
    after the client's last processed id), so `mutation_id` stays unique per client.
    """

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=64)
    mutation_id = models.BigIntegerField()
    last_mutation_id = models.BigIntegerField(null=True, blank=True)
    result = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "user", "client_id", "mutation_id"),
                name="sync_result_unique",
            )
        ]
        indexes = [models.Index(fields=("workspace", "created_at"), name="sync_result_age")]

    def __str__(self) -> str:
        if self.last_mutation_id is not None:
            return f"results of {self.client_id}#{self.mutation_id}-{self.last_mutation_id}"
        return f"result of {self.client_id}#{self.mutation_id}"

    def results(self) -> dict[int, dict[str, Any]]:
        """The stored result of each mutation this row holds, by mutation id."""
        if self.last_mutation_id is None:
            return {self.mutation_id: self.result}
        return {self.mutation_id + k: result for k, result in enumerate(self.result)}


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Resolution(models.TextChoices):
    AUTO = "auto", "Decided by the policy"
    KEEP_SERVER = "keep_server", "Keep server"
    KEEP_CLIENT = "keep_client", "Keep client"
    KEEP_BOTH = "keep_both", "Keep both"
    MERGED = "merged", "Merged"


class Outcome(models.TextChoices):
    """Which side the row holds now (internal; decides what a resolution must change)."""

    CLIENT = "client", "Client"
    SERVER = "server", "Server"
    BOTH = "both", "Both"
    MERGED = "merged", "Merged"


class Conflict(SyncedModel):
    """A concurrent change the server had to decide on. Versioned through the workspace clock
    like any synced row, so it reaches devices through pull. A conflict on a row private to one
    member (`private_to`) is visible to that member only (row-level security)."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    entity = models.CharField(max_length=32)
    entity_id = models.UUIDField()
    status = models.CharField(max_length=10, choices=ConflictStatus.choices)
    policy = models.CharField(max_length=20)
    base_version = models.BigIntegerField(null=True, blank=True)
    server_version = models.BigIntegerField(null=True, blank=True)
    # Both sides may hold SQL, message text or connection secrets: encrypted like the rows.
    client_fields_encrypted = EncryptedField()
    server_fields_encrypted = EncryptedField()
    conflicting_fields = models.JSONField(default=list)
    client_id = models.CharField(max_length=64, blank=True, default="")
    device_name = models.CharField(max_length=200, blank=True, default="")
    mutation_id = models.BigIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    private_to = models.UUIDField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    copy_id = models.UUIDField(null=True, blank=True)
    resolution = models.CharField(max_length=16, blank=True, default="")
    resolved_fields_encrypted = EncryptedField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    sync_entity: ClassVar[str] = "conflict"

    class Meta:
        indexes = [
            *synced_indexes("syncconf"),
            models.Index(fields=("workspace", "status", "created_at"), name="syncconf_status"),
        ]
        constraints = synced_constraints("syncconf")

    def __str__(self) -> str:
        return f"conflict {self.id} on {self.entity} {self.entity_id}"


class SecretDelivery(models.Model):
    """The first delivery of one version of a row's secrets to one device (the delivery
    ledger): "which devices hold the production password" (docs/security.md).

    Written by the pull that delivers it, once per (row, secret version, device): a second pull
    adds nothing, a changed secret adds a row. `secret_version` is the highest field version of
    the row's secret fields (a clock version, never the value or a hash of it); for secrets
    delivered inside a conflict record it is the record's version and `conflict_id` names it.
    `workspace_id` and `user_id` are plain values, not foreign keys, and the app role may only
    insert and read (core.db_roles.APPEND_ONLY_TABLES): the trail outlives the device, the
    account and the row it speaks of, since a lost laptop keeps what it received.
    """

    id = models.BigAutoField(primary_key=True)
    workspace_id = models.UUIDField()
    entity = models.CharField(max_length=32)
    row_id = models.UUIDField()
    secret_version = models.BigIntegerField()
    conflict_id = models.UUIDField(null=True, blank=True)
    user_id = models.UUIDField()
    client_id = models.CharField(max_length=64)
    first_delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=(
                    "workspace_id",
                    "entity",
                    "row_id",
                    "user_id",
                    "client_id",
                    "secret_version",
                ),
                name="sync_delivery_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.row_id} v{self.secret_version} to {self.client_id}"
