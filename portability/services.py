"""Writes of workspace export and import (docs/data.md, "Export format"; the document itself is
portability.document_format).

`workspace_export` is the API's export: the caller's view of the workspace (portability.selectors
builds it), optionally sealed with a passphrase, and an audit event, so it lives with the
writes. `workspace_import` gives every row a new id and remaps references to the new ids, so a
document can be imported into any workspace, any number of times; `dry_run` reports what would
happen. Rows are written through their entity adapters and the workspace's version clock, like
every other write; the entities are walked through the entity registry, so this module imports
neither connections, queries nor chats.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.entities import EntityAdapter, FieldError, adapter_for
from core.entity_writes import entity_build, entity_insert_many, validation_error
from core.exceptions import ApplicationError, PermissionDenied
from core.versioning import SyncedModel, VersionClock
from portability.document_format import (
    ENCRYPTED_FORMAT,
    FORMAT,
    VERSION,
    entity_adapters,
    manager,
    open_document,
    seal_document,
)
from portability.selectors import build_export
from workspaces import entitlements
from workspaces.audit import Action, audit_record
from workspaces.models import Membership, Role, role_at_least

# Shared entities whose rows may collide with what the workspace has: the fields that make two
# rows "the same" for the conflict report.
CONFLICT_KEYS: dict[str, tuple[str, ...]] = {
    "connection": ("name", "engine"),
    "saved_query": ("name", "folder"),
}
PLAN_LIMITS = {"connection": "connections", "saved_query": "saved_queries"}
MAX_IMPORT_ROWS = 100_000
REPORT_ITEMS = 200
IMPORT_BATCH = 500


# --- export ----------------------------------------------------------------------------------


def workspace_export(
    *,
    membership: Membership,
    include_secrets: bool = False,
    passphrase: str | None = None,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """Export the workspace as the caller sees it (their own private rows only), optionally
    sealed with a passphrase. Audited."""
    document = build_export(membership=membership, include_secrets=include_secrets)
    audit_record(
        action=Action.EXPORTED,
        workspace_id=membership.workspace_id,
        actor=membership.user,
        request=request,
        target_type="workspace",
        target_id=membership.workspace_id,
        metadata={
            "secrets_included": include_secrets,
            "encrypted": passphrase is not None,
            "counts": {name: len(rows) for name, rows in document["entities"].items()},
        },
    )
    if passphrase is not None:
        return seal_document(document, passphrase)
    return document


# --- import ----------------------------------------------------------------------------------


@dataclass
class _Planned:
    adapter: type[EntityAdapter]
    old_id: str
    new_id: uuid.UUID
    fields: dict[str, Any]
    extra: dict[str, Any]
    created_at: Any


@dataclass
class ImportReport:
    dry_run: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    id_map: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, bucket: list[dict[str, Any]], item: dict[str, Any]) -> None:
        if len(bucket) < REPORT_ITEMS:
            bucket.append(item)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ok": not self.errors,
            "counts": self.counts,
            "conflicts": self.conflicts,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "errors": self.errors,
            "id_map": {} if self.dry_run else self.id_map,
        }


def _extra(entity: str, item: dict[str, Any]) -> dict[str, Any]:
    """Server-side fields of an exported row, checked like wire fields."""
    out: dict[str, Any] = {}
    if entity != "chat_message":
        return out
    model = item.get("model") or ""
    finish = item.get("finish_reason") or ""
    if not isinstance(model, str) or len(model) > 100:
        raise FieldError("invalid", "model must be text of at most 100 characters.", "model")
    if not isinstance(finish, str) or len(finish) > 32:
        raise FieldError(
            "invalid", "finish_reason must be text of at most 32 characters.", "finish_reason"
        )
    out.update(model=model, finish_reason=finish)
    for name in ("input_tokens", "output_tokens"):
        value = item.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31
        ):
            raise FieldError("invalid", f"{name} must be a non-negative integer.", name)
        out[name] = value
    return out


def _conflict_key(entity: str, values: dict[str, Any]) -> tuple[Any, ...] | None:
    keys = CONFLICT_KEYS.get(entity)
    if keys is None:
        return None
    return tuple(
        (values.get(k) or "").casefold() if isinstance(values.get(k), str) else values.get(k)
        for k in keys
    )


def _existing(adapter: type[EntityAdapter], workspace_id: uuid.UUID, user: Any) -> Any:
    rows = manager(adapter).filter(workspace_id=workspace_id, deleted=False)
    if adapter.private:
        rows = rows.filter(author_id=user.pk)
    return rows


def _plan(
    document: dict[str, Any],
    *,
    membership: Membership,
    on_conflict: str,
    report: ImportReport,
) -> list[_Planned]:
    entities = document.get("entities")
    if not isinstance(entities, dict):
        raise ApplicationError("The export has no entities object.", code="invalid_export")
    known = {name for name, _ in entity_adapters()}
    for name in sorted(set(entities) - known):
        report.add(report.skipped, {"entity": name, "reason": "unknown entity"})
    total = sum(len(v) for k, v in entities.items() if k in known and isinstance(v, list))
    if total > MAX_IMPORT_ROWS:
        raise ApplicationError(
            f"An import holds at most {MAX_IMPORT_ROWS} rows; this one has {total}.",
            code="import_too_large",
            status=413,
        )
    workspace_id = membership.workspace_id
    id_maps: dict[str, dict[str, uuid.UUID]] = {}
    planned: list[_Planned] = []
    for name, adapter in entity_adapters():
        items = entities.get(name, [])
        counts = {"in_document": 0, "created": 0, "skipped": 0}
        report.counts[name] = counts
        id_maps[name] = {}
        if not isinstance(items, list):
            report.add(report.errors, {"entity": name, "message": f"{name} must be a list."})
            continue
        counts["in_document"] = len(items)
        existing_keys: dict[tuple[Any, ...], str] = {}
        if name in CONFLICT_KEYS:
            for row in _existing(adapter, workspace_id, membership.user).only(
                "id", *CONFLICT_KEYS[name]
            ):
                key = _conflict_key(name, {k: getattr(row, k) for k in CONFLICT_KEYS[name]})
                if key is not None:
                    existing_keys.setdefault(key, str(row.id))
        for index, item in enumerate(items):
            where = {"entity": name, "index": index}
            if not isinstance(item, dict):
                report.add(report.errors, {**where, "message": "A row must be an object."})
                continue
            try:
                old_id = str(uuid.UUID(str(item.get("id"))))
            except ValueError:
                report.add(report.errors, {**where, "field": "id", "message": "id must be a UUID."})
                continue
            where["id"] = old_id
            if old_id in id_maps[name]:
                report.add(report.errors, {**where, "field": "id", "message": "Duplicate id."})
                continue
            wire = {k: v for k, v in item.items() if k in adapter.validators}
            try:
                clean = adapter.validate(wire, creating=True)
                extra = _extra(name, item)
            except FieldError as error:
                report.add(report.errors, {**where, "field": error.field, "message": error.message})
                continue
            created_at = item.get("created_at")
            created = parse_datetime(created_at) if isinstance(created_at, str) else None
            if created is None or created.tzinfo is None:
                created = timezone.now()
            skip_reason = None
            for ref, target in adapter.references.items():
                value = clean.get(ref)
                if value is None:
                    continue
                mapped = id_maps.get(target, {}).get(str(value))
                if mapped is not None:
                    clean[ref] = mapped
                    continue
                target_adapter = adapter_for(target)
                if target_adapter is not None and (
                    _existing(target_adapter, workspace_id, membership.user)
                    .filter(id=value)
                    .exists()
                ):
                    continue  # a row the workspace already has
                if ref in adapter.required_on_create:
                    skip_reason = f"its {target.replace('_', ' ')} is not in the export"
                    break
                clean[ref] = None
                report.add(
                    report.warnings,
                    {
                        **where,
                        "field": ref,
                        "message": "Reference to a row not in the export "
                        "or the workspace; cleared.",
                    },
                )
            if skip_reason is not None:
                counts["skipped"] += 1
                report.add(report.skipped, {**where, "reason": skip_reason})
                continue
            key = _conflict_key(name, clean)
            if key is not None and key in existing_keys:
                conflict = {**where, "existing_id": existing_keys[key], "name": clean.get("name")}
                if on_conflict == "skip":
                    # References to the skipped row now point at the row the workspace has.
                    id_maps[name][old_id] = uuid.UUID(existing_keys[key])
                    counts["skipped"] += 1
                    report.add(report.conflicts, {**conflict, "action": "skipped"})
                    continue
                report.add(report.conflicts, {**conflict, "action": "created"})
            new_id = uuid.uuid4()
            id_maps[name][old_id] = new_id
            if key is not None:
                existing_keys.setdefault(key, str(new_id))
            planned.append(_Planned(adapter, old_id, new_id, clean, extra, created))
            counts["created"] += 1
        report.id_map[name] = {
            old: str(new) for old, new in id_maps[name].items() if old != str(new)
        }
    return planned


def _write(planned: Iterable[_Planned], *, membership: Membership, writer: str) -> None:
    by_privacy: dict[bool, list[_Planned]] = {True: [], False: []}
    for item in planned:
        by_privacy[item.adapter.private].append(item)
    for private, items in by_privacy.items():
        if not items:
            continue
        clock = VersionClock.reserve(
            membership.workspace_id,
            count=len(items),
            private_to=membership.user_id if private else None,
        )
        batch: list[SyncedModel] = []
        for item in items:
            row = entity_build(
                item.adapter,
                workspace_id=membership.workspace_id,
                user=membership.user,
                row_id=item.new_id,
                fields=item.fields,
                writer=writer,
                clock=clock,
                created_at=item.created_at,
                extra=item.extra,
            )
            batch.append(row)
            if len(batch) >= IMPORT_BATCH or item is items[-1]:
                entity_insert_many(batch)
                batch = []


def workspace_import(
    *,
    membership: Membership,
    document: Any,
    passphrase: str | None = None,
    dry_run: bool = False,
    on_conflict: str = "skip",
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """Import an export document (or an encrypted envelope) into the workspace: new ids, remapped
    references, conflicts with existing rows skipped (or kept both), plan limits respected.
    With `dry_run` nothing is written and the report says what would happen. A document with an
    invalid row is refused as a whole (400 `import_invalid`, the report lists the rows)."""
    if not role_at_least(membership.role, Role.MEMBER):
        raise PermissionDenied(f"Your role ({membership.role}) cannot import data.")
    if on_conflict not in ("skip", "keep_both"):
        raise validation_error("on_conflict", "must be skip or keep_both.")
    if not isinstance(document, dict):
        raise validation_error("document", "must be an export document (a JSON object).")
    encrypted = document.get("format") == ENCRYPTED_FORMAT
    if encrypted:
        document = open_document(document, passphrase)
    if document.get("format") != FORMAT:
        raise ApplicationError(
            f"This is not a {FORMAT} document.",
            code="invalid_export",
            fields={"document": [f"format must be {FORMAT}."]},
        )
    if document.get("version") != VERSION:
        raise ApplicationError(
            f"Export version {document.get('version')!r} is not supported (this server reads "
            f"version {VERSION}).",
            code="unsupported_export",
        )
    report = ImportReport(dry_run=dry_run)
    workspace = membership.workspace
    if not dry_run:
        # Locks the workspace's clock: imports and creates of this workspace run one at a time,
        # so the plan-limit counts below stay true until commit.
        VersionClock.reserve(workspace.pk, poke=False)
    planned = _plan(document, membership=membership, on_conflict=on_conflict, report=report)
    for entity, limit in PLAN_LIMITS.items():
        adding = sum(1 for p in planned if p.adapter.entity == entity)
        if not adding:
            continue
        check = (
            entitlements.check_can_create_connection
            if entity == "connection"
            else entitlements.check_can_create_saved_query
        )
        try:
            check(workspace, adding=adding)
        except ApplicationError as error:
            if not dry_run:
                raise
            report.add(
                report.errors,
                {"entity": entity, "field": limit, "message": error.message, "code": error.code},
            )
    if report.errors and not dry_run:
        raise ApplicationError(
            "The export has invalid rows; nothing was imported.",
            code="import_invalid",
            extra={"report": report.as_dict()},
        )
    if dry_run:
        return report.as_dict()
    _write(planned, membership=membership, writer=f"import:{membership.user_id}")
    audit_record(
        action=Action.IMPORTED,
        workspace_id=workspace.pk,
        actor=membership.user,
        request=request,
        target_type="workspace",
        target_id=workspace.pk,
        metadata={
            "encrypted": encrypted,
            "source_workspace_id": str((document.get("source") or {}).get("workspace_id", ""))[:64],
            "counts": report.counts,
            "conflicts": len(report.conflicts),
        },
    )
    return report.as_dict()
