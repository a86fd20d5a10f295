"""Resolving a conflict record: the choice is applied as a normal versioned write."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from core.crypto.fields import seal_json, unseal_json
from core.entities import EntityAdapter, FieldError, adapter_for
from core.exceptions import ApplicationError, NotFound, PermissionDenied
from core.exceptions import Conflict as ConflictError
from core.versioning import SyncedModel, VersionClock
from sync.models import Conflict, ConflictStatus, Outcome, Resolution
from sync.records import COPY_SUFFIX, client_fields, in_workspace, server_fields
from sync.services.common import resolution_writer, run_bound
from workspaces.audit import Action, audit_record
from workspaces.models import Role, role_at_least
from workspaces.secrets import Principal, may_send_secrets_from_device

RESOLUTIONS = ("keep_server", "keep_client", "keep_both", "merged")
_AUTO_CHOICE = {
    Outcome.CLIENT: Resolution.KEEP_CLIENT,
    Outcome.SERVER: Resolution.KEEP_SERVER,
    Outcome.BOTH: Resolution.KEEP_BOTH,
}


def conflict_resolve(
    *,
    workspace: Any,
    user: Any,
    role: str,
    conflict_id: uuid.UUID,
    resolution: str,
    fields: Mapping[str, Any] | None,
    expected_version: int | None,
    request: Any = None,
) -> Conflict:
    """Apply `resolution` to the row the conflict is about and mark the record resolved.

    Idempotent: the choice the record already has returns it unchanged. A record a member has
    already resolved otherwise answers 409 `already_resolved`; an `expected_version` that is not
    the row's current version answers 409 `stale_version`."""

    def work() -> Conflict:
        return _resolve(
            workspace=workspace,
            user=user,
            role=role,
            conflict_id=conflict_id,
            resolution=resolution,
            fields=dict(fields or {}),
            expected_version=expected_version,
            request=request,
        )

    return run_bound(work, workspace_id=workspace.pk, user_id=user.pk, what="resolve")


def _same_choice(conflict: Conflict, resolution: str, fields: Mapping[str, Any]) -> bool:
    if conflict.resolution == Resolution.AUTO:
        return _AUTO_CHOICE.get(Outcome(conflict.outcome)) == resolution
    if conflict.resolution != resolution:
        return False
    if resolution == Resolution.MERGED:
        return (unseal_json(conflict, "resolved_fields_encrypted") or {}) == dict(fields)
    return True


def _resolve(
    *,
    workspace: Any,
    user: Any,
    role: str,
    conflict_id: uuid.UUID,
    resolution: str,
    fields: dict[str, Any],
    expected_version: int | None,
    request: Any,
) -> Conflict:
    conflict = Conflict.objects.filter(workspace_id=workspace.pk, id=conflict_id).first()
    if conflict is None:
        raise NotFound("Conflict not found.")
    if not role_at_least(role, Role.MEMBER):
        raise PermissionDenied(f"Your role ({role}) cannot resolve conflicts.")
    if _same_choice(conflict, resolution, fields):
        return conflict
    if conflict.resolution not in ("", Resolution.AUTO):
        raise ConflictError(
            "This conflict was already resolved with another choice.",
            code="already_resolved",
            extra={"resolution": conflict.resolution},
        )
    adapter = adapter_for(conflict.entity)
    if adapter is None:
        raise NotFound("Conflict not found.")
    # Locks the clock: from here on nothing else writes the workspace.
    clock = VersionClock.reserve(workspace.pk, count=4, private_to=conflict.private_to)
    model = adapter.model
    row = in_workspace(model, workspace.pk).filter(id=conflict.entity_id).first()
    if expected_version is not None and (row is None or row.version != expected_version):
        raise ConflictError(
            "The row changed since you looked at it; review the conflict again.",
            code="stale_version",
            extra={"current_version": row.version if row is not None else None},
        )
    writer = resolution_writer(user.pk)
    state = _Writer(workspace=workspace, user=user, adapter=adapter, clock=clock, writer=writer)
    client_side, server_side = client_fields(conflict), server_fields(conflict)
    client_deleted = client_side.get("deleted") is True
    server_deleted = server_side.get("deleted") is True
    copy = (
        in_workspace(model, workspace.pk).filter(id=conflict.copy_id).first()
        if conflict.copy_id
        else None
    )
    if resolution == Resolution.KEEP_SERVER:
        if server_deleted:
            state.delete(row)
        else:
            state.write(row, conflict.entity_id, server_side, restore=True)
        state.delete(copy)
        outcome = Outcome.SERVER
    elif resolution == Resolution.KEEP_CLIENT:
        if client_deleted:
            state.delete(row)
        else:
            state.write(row, conflict.entity_id, client_side, restore=True)
        state.delete(copy)
        outcome = Outcome.CLIENT
    elif resolution == Resolution.KEEP_BOTH:
        if client_deleted:
            raise ApplicationError(
                "keep_both does not apply to a deleted row; choose keep_server or keep_client.",
                code="invalid",
            )
        if copy is None or copy.deleted:
            if not server_deleted:
                state.write(row, conflict.entity_id, server_side, restore=True)
            conflict.copy_id = state.copy(row, client_side)
        outcome = Outcome.BOTH
    else:
        if not fields:
            raise ApplicationError("A merged resolution needs its fields.", code="invalid")
        if not may_send_secrets_from_device(
            Principal.member(role=role, user=user), workspace=workspace
        ):
            fields = {k: v for k, v in fields.items() if k not in adapter.secret_fields}
        state.write(row, conflict.entity_id, fields, restore=True)
        seal_json(conflict, "resolved_fields_encrypted", fields)
        outcome = Outcome.MERGED

    conflict.status = ConflictStatus.RESOLVED
    conflict.resolution = resolution
    conflict.resolved_by_id = user.pk
    conflict.resolved_at = timezone.now()
    conflict.outcome = outcome
    conflict.touch_fields(["status", "resolution"], version=state.version(), writer=writer)
    conflict.save()
    audit_record(
        action=Action.CONFLICT_RESOLVED,
        workspace_id=workspace.pk,
        actor=user,
        request=request,
        target_type="conflict",
        target_id=conflict.id,
        metadata={"entity": conflict.entity, "resolution": resolution},
    )
    return conflict


class _Writer:
    def __init__(
        self,
        *,
        workspace: Any,
        user: Any,
        adapter: type[EntityAdapter],
        clock: VersionClock,
        writer: str,
    ) -> None:
        self.workspace = workspace
        self.user = user
        self.adapter = adapter
        self.clock = clock
        self.writer = writer

    def version(self) -> int:
        if self.clock.remaining == 0:
            self.clock = VersionClock.reserve(self.workspace.pk, count=4)
        return self.clock.next()

    def _clean(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = {k: v for k, v in values.items() if k != "deleted"}
        try:
            return self.adapter.validate(values, creating=creating)
        except FieldError as error:
            raise ApplicationError(
                error.message,
                code="validation_error" if error.code == "invalid" else error.code,
                fields={error.field or "fields": [error.message]},
            ) from None

    def delete(self, row: SyncedModel | None) -> None:
        if row is None or row.deleted:
            return
        row.deleted = True
        row.deleted_at = timezone.now()
        row.touch_fields(["deleted"], version=self.version(), writer=self.writer)
        row.save()

    def write(
        self,
        row: SyncedModel | None,
        row_id: uuid.UUID,
        values: Mapping[str, Any],
        *,
        restore: bool,
    ) -> None:
        creating = row is None
        clean = self._clean(values, creating=creating)
        if row is None:
            row = self.adapter.new_row(
                workspace_id=self.workspace.pk, user=self.user, row_id=row_id
            )
        self.adapter.apply(row, clean)
        names = list(clean)
        if restore and row.deleted:
            row.deleted = False
            row.deleted_at = None
            names.append("deleted")
        row.touch_fields(names, version=self.version(), writer=self.writer)
        row.save(force_insert=creating)

    def copy(self, row: SyncedModel | None, client_side: Mapping[str, Any]) -> uuid.UUID:
        copy_id = uuid.uuid4()
        values: dict[str, Any] = {}
        if row is not None:
            values = {name: self.adapter.read(row, name) for name in self.adapter.fields()}
        values.update(self._clean(client_side, creating=row is None))
        for name in ("name", "title"):
            if name in values:
                values[name] = (str(values[name] or "") + COPY_SUFFIX)[-200:]
                break
        copy = self.adapter.new_row(workspace_id=self.workspace.pk, user=self.user, row_id=copy_id)
        self.adapter.apply(copy, values)
        copy.touch_fields(values, version=self.version(), writer=self.writer)
        copy.save(force_insert=True)
        return copy_id
