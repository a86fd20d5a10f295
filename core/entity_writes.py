"""The shared entity-write path: writes of synced rows through their entity adapter and the
version clock. Each data app's `services.py` (the one writer module of its entities, called by
REST, the assistant and imports) is built on these functions; sync push, the merge engine,
applies the same adapters and uses the same pieces (`new_row`/`insert_rows` of
`core.entity_bulk`, `tombstone_cascades`), so an entity's rules hold whichever door a change
comes in by.

    clock = VersionClock.reserve(workspace_id, count=1)
    row = entity_create(ConnectionEntity, workspace_id=ws, user=user, fields={...},
                        writer=api_writer(user), clock=clock)

Every function here runs inside the caller's transaction, which must already be bound to the
workspace (and user, for private rows) by `core.tenancy`. Adapter validation errors become the
API's one validation error (400, `fields` naming the field); the row's version always comes from
the clock, so `core_sync_guard` accepts the write.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.entities import EntityAdapter, FieldError, adapter_for
from core.entity_bulk import insert_rows, new_row
from core.exceptions import ApplicationError, Conflict, NotFound
from core.versioning import SyncedModel, VersionClock

BULK_BATCH = 500


def _manager(adapter: type[EntityAdapter]) -> Any:
    # Every synced model has a `workspace`; the abstract SyncedModel does not declare it.
    return adapter.model._default_manager


def api_writer(user: Any) -> str:
    """The writer id REST writes are stamped with (field_versions)."""
    return f"api:{user.pk}"


def validation_error(field: str | None, message: str) -> ApplicationError:
    return ApplicationError(
        "Some fields are invalid.",
        code="validation_error",
        fields={field or "non_field_errors": [message]},
    )


def validate(
    adapter: type[EntityAdapter], fields: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """The adapter's validation, as a 400 naming the field. Parsed datetimes (from DRF inputs)
    go back to their wire form first: adapters validate what travels on the wire."""
    wire = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in fields.items()
    }
    try:
        return adapter.validate(wire, creating=creating)
    except FieldError as error:
        message = "Unknown field." if error.code == "unknown_field" else error.message
        raise validation_error(error.field, message) from None


def check_expected_version(row: SyncedModel, expected: int | None) -> None:
    """Optimistic concurrency: 409 `stale_version` when the row moved on since the client read
    it (`expected` is the version the client saw; None skips the check)."""
    if expected is not None and row.version != expected:
        raise Conflict(
            "This record was changed since you read it. Reload it and try again.",
            code="stale_version",
            extra={"current_version": row.version},
        )


def check_references(
    adapter: type[EntityAdapter], workspace_id: uuid.UUID, fields: Mapping[str, Any]
) -> None:
    """Referenced rows must exist in the workspace, be visible, and not be deleted."""
    for name, entity in adapter.references.items():
        value = fields.get(name)
        if value is None:
            continue
        target = adapter_for(entity)
        if target is None:  # pragma: no cover - registry misconfiguration
            raise RuntimeError(f"unknown referenced entity {entity!r}")
        exists = (
            _manager(target).filter(workspace_id=workspace_id, id=value, deleted=False).exists()
        )
        if not exists:
            label = entity.replace("_", " ")
            raise validation_error(name, f"No {label} with this id in this workspace.")


def get_row(
    adapter: type[EntityAdapter],
    *,
    workspace_id: uuid.UUID,
    row_id: uuid.UUID | str,
    for_update: bool = False,
    include_deleted: bool = False,
) -> SyncedModel:
    """One row by its client-visible id, or 404. Private rows of other members are invisible
    (row-level security), so they are 404 too."""
    queryset: QuerySet[SyncedModel] = _manager(adapter).filter(workspace_id=workspace_id, id=row_id)
    if not include_deleted:
        queryset = queryset.filter(deleted=False)
    if for_update:
        queryset = queryset.select_for_update()
    row = queryset.first()
    if row is None:
        raise NotFound(f"No {adapter.entity.replace('_', ' ')} with this id.")
    return row


def private_to(adapter: type[EntityAdapter], row: SyncedModel) -> Any:
    """Whom a write's sync poke is for: the author of a private row, else every member."""
    return getattr(row, "author_id", None) if adapter.private else None


def check_author(adapter: type[EntityAdapter], row: SyncedModel, user: Any) -> None:
    """Private rows are their author's alone (row-level security already hides the others'; this
    is the second lock)."""
    if adapter.private and str(getattr(row, "author_id", "")) != str(user.pk):
        raise NotFound(f"No {adapter.entity.replace('_', ' ')} with this id.")


def entity_create(
    adapter: type[EntityAdapter],
    *,
    workspace_id: uuid.UUID,
    user: Any,
    fields: Mapping[str, Any],
    writer: str,
    row_id: uuid.UUID | None = None,
    clock: VersionClock | None = None,
    created_at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
    validated: bool = False,
    references_checked: bool = False,
    taken: ApplicationError | None = None,
    savepoint: bool = True,
) -> SyncedModel:
    """Insert a new row. `row_id` is the client's choice (a UUID) or a fresh one; an id already
    used in the workspace is `taken` (default: 409 `already_exists`). `extra` sets server-side
    model attributes that are not wire fields (a message's model and token counts).

    `validated` / `references_checked`: the caller did that already (no second query).
    `savepoint=False` saves the savepoint's two round trips on a hot path: after a taken id the
    caller's transaction is marked for rollback, which is what the API does with any error."""
    clean = dict(fields) if validated else validate(adapter, fields, creating=True)
    if not references_checked:
        check_references(adapter, workspace_id, clean)
    row = entity_build(
        adapter,
        workspace_id=workspace_id,
        user=user,
        row_id=row_id or uuid.uuid4(),
        fields=clean,
        writer=writer,
        clock=clock,
        created_at=created_at,
        extra=extra,
    )
    if taken is None:
        taken = Conflict(
            "A record with this id already exists in this workspace.", code="already_exists"
        )
    try:
        if savepoint:
            with transaction.atomic():
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        if not savepoint:
            transaction.set_rollback(True)
        raise taken from None
    return row


def entity_build(
    adapter: type[EntityAdapter],
    *,
    workspace_id: uuid.UUID,
    user: Any,
    row_id: uuid.UUID,
    fields: Mapping[str, Any],
    writer: str,
    clock: VersionClock | None = None,
    created_at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SyncedModel:
    """A new row of validated `fields`, encrypted and versioned, not yet inserted (see
    entity_create, and entity_insert_many for many rows at once)."""
    row = new_row(adapter, workspace_id=workspace_id, user=user, row_id=row_id)
    adapter.apply(row, fields)
    for name, value in (extra or {}).items():
        setattr(row, name, value)
    if created_at is not None:
        row.created_at = created_at
    clock = clock or VersionClock.reserve(workspace_id, private_to=private_to(adapter, row))
    row.touch_fields(fields, version=clock.next(), writer=writer)
    return row


def entity_insert_many(rows: Sequence[SyncedModel]) -> None:
    """Insert new rows made by entity_build, one statement per model and batch
    (`core.entity_bulk.insert_rows`): imports. An id already taken raises
    IntegrityError; the caller's transaction decides what survives."""
    by_model: dict[type[SyncedModel], list[SyncedModel]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, group in by_model.items():
        insert_rows(model, group)


def entity_update(
    adapter: type[EntityAdapter],
    row: SyncedModel,
    *,
    fields: Mapping[str, Any],
    writer: str,
    expected_version: int | None = None,
) -> SyncedModel:
    """Change some fields of a (locked) row. Fields equal to what is stored are left alone, so
    an update that changes nothing does not bump the version."""
    if adapter.append_only:
        raise ApplicationError(
            f"A {adapter.entity.replace('_', ' ')} cannot be changed, only deleted.",
            code="append_only",
            status=405,
        )
    check_expected_version(row, expected_version)
    clean = validate(adapter, fields, creating=False)
    changed = {name: value for name, value in clean.items() if adapter.read(row, name) != value}
    if not changed:
        return row
    check_references(adapter, row.workspace_id, changed)
    adapter.apply(row, changed)
    clock = VersionClock.reserve(
        row.workspace_id,
        private_to=private_to(adapter, row),
    )
    row.touch_fields(changed, version=clock.next(), writer=writer)
    row.save()
    return row


def _tombstone_in_memory(
    adapter: type[EntityAdapter], row: SyncedModel, now: datetime
) -> list[str]:
    cleared = [name for name in adapter.encrypted if getattr(row, f"{name}_encrypted") is not None]
    for name in adapter.encrypted:
        setattr(row, f"{name}_encrypted", None)
    row.deleted = True
    row.deleted_at = now
    return cleared


def entity_tombstone(
    adapter: type[EntityAdapter],
    row: SyncedModel,
    *,
    writer: str,
    expected_version: int | None = None,
    clock: VersionClock | None = None,
) -> SyncedModel:
    """Soft delete: the row stays as a tombstone (so sync clients learn of the deletion) with a
    new version, and its encrypted content is cleared. Deleting a tombstone does nothing."""
    check_expected_version(row, expected_version)
    if row.deleted:
        return row
    cleared = _tombstone_in_memory(adapter, row, timezone.now())
    clock = clock or VersionClock.reserve(
        row.workspace_id,
        private_to=private_to(adapter, row),
    )
    row.touch_fields(cleared, version=clock.next(), writer=writer)
    row.save()
    tombstone_cascades(adapter, row, writer=writer)
    return row


def tombstone_cascades(adapter: type[EntityAdapter], row: SyncedModel, *, writer: str) -> int:
    """Tombstone the live rows that die with `row` (`adapter.cascade_deletes`: a chat's
    messages), by whichever door the row was deleted. Returns how many."""
    total = 0
    for entity, field in adapter.cascade_deletes.items():
        child = adapter_for(entity)
        if child is None:  # pragma: no cover - registry misconfiguration
            raise RuntimeError(f"unknown cascaded entity {entity!r}")
        children = _manager(child).filter(
            workspace_id=row.workspace_id,
            **{field: row.id},
        )
        if child.private and adapter.private:
            children = children.filter(author_id=getattr(row, "author_id", None))
        total += entity_tombstone_many(child, children, writer=writer)
    return total


def entity_tombstone_many(
    adapter: type[EntityAdapter], rows: QuerySet[SyncedModel], *, writer: str
) -> int:
    """Tombstone every live row of `rows` (one workspace), one version each, in batches of
    BULK_BATCH. Returns how many."""
    total = 0
    live = rows.filter(deleted=False).order_by("row_id")
    last = 0
    encrypted_columns = [f"{name}_encrypted" for name in adapter.encrypted]
    while True:
        batch = list(live.filter(row_id__gt=last).select_for_update()[:BULK_BATCH])
        if not batch:
            return total
        workspace_id = batch[0].workspace_id
        clock = VersionClock.reserve(
            workspace_id, count=len(batch), private_to=private_to(adapter, batch[0])
        )
        now = timezone.now()
        for row in batch:
            cleared = _tombstone_in_memory(adapter, row, now)
            row.touch_fields(cleared, version=clock.next(), writer=writer)
        adapter.model._default_manager.bulk_update(
            batch,
            [
                *encrypted_columns,
                "deleted",
                "deleted_at",
                "version",
                "field_versions",
                "updated_at",
            ],
        )
        total += len(batch)
        last = batch[-1].row_id
