"""Workspace export and import: a versioned JSON document of connections, saved queries and the
caller's own query history and chats (docs/data.md, "Export format").

    {"format": "dbworkbench-export", "version": 1, "exported_at": "...", "scope": "workspace",
     "source": {...}, "secrets_included": false,
     "entities": {"connection": [...], "saved_query": [...], "query_history": [...],
                  "chat": [...], "chat_message": [...]}}

Rows are in their sync wire form (core.entities adapters), so the document is what a sync pull
would show, plus a few server-side message fields. Secrets are included only when asked for and
allowed (members and up). With a passphrase the document is sealed into an envelope (scrypt +
AES-256-GCM, `seal_document`).

Import gives every row a new id and remaps references to the new ids, so a document can be
imported into any workspace, any number of times; `dry_run` reports what would happen. The
entities are walked through the entity registry, so this module imports neither queries nor
chats.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.entities import EntityAdapter, FieldError, adapter_for
from core.entity_writes import validation_error
from core.exceptions import ApplicationError, PermissionDenied
from core.tenancy import db_context
from core.versioning import SyncedModel, VersionClock
from workspaces import entitlements
from workspaces.audit import Action, audit_record
from workspaces.models import Membership, Role, role_at_least

FORMAT = "dbworkbench-export"
ENCRYPTED_FORMAT = "dbworkbench-export-encrypted"
VERSION = 1
# Import order: referenced entities before the rows that reference them.
ENTITY_ORDER = ("connection", "saved_query", "query_history", "chat", "chat_message")
# Server-side fields of a row that are not sync wire fields but belong in an export.
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "chat_message": ("model", "input_tokens", "output_tokens", "finish_reason"),
}
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
MIN_PASSPHRASE = 12
MAX_PASSPHRASE = 1024
# scrypt work factor of new exports (N = 2**17, r = 8, p = 1: 128 MiB, OWASP's recommendation);
# imports accept N between 2**14 and 2**17 only, so a crafted file cannot make the server
# spend more.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_N_RANGE = (2**14, 2**17)


def _entities() -> list[tuple[str, type[EntityAdapter]]]:
    found = []
    for name in ENTITY_ORDER:
        adapter = adapter_for(name)
        if adapter is not None:
            found.append((name, adapter))
    return found


def _manager(adapter: type[EntityAdapter]) -> Any:
    return adapter.model._default_manager  # every synced model has a workspace


# --- export ----------------------------------------------------------------------------------


def _export_rows(
    adapter: type[EntityAdapter],
    *,
    workspace_id: uuid.UUID,
    user: Any,
    include_secrets: bool,
    created_by_only: bool,
) -> list[dict[str, Any]]:
    rows = _manager(adapter).filter(workspace_id=workspace_id, deleted=False)
    if adapter.private:
        rows = rows.filter(author_id=user.pk)
    elif created_by_only:
        rows = rows.filter(created_by_id=user.pk)
    out = []
    extras = EXTRA_FIELDS.get(adapter.entity, ())
    for row in rows.order_by("created_at", "row_id").iterator(chunk_size=500):
        data = adapter.serialize(row, include_secrets=include_secrets)
        data.pop("version", None)
        data.pop("deleted", None)
        for name in extras:
            data[name] = getattr(row, name)
        out.append(data)
    return out


def build_export(
    *,
    membership: Membership,
    include_secrets: bool = False,
    created_by_only: bool = False,
) -> dict[str, Any]:
    """The export document of the caller's view of the workspace (in the caller's transaction,
    bound to it). Secrets need member or higher."""
    if include_secrets and not role_at_least(membership.role, Role.MEMBER):
        raise PermissionDenied("Viewers cannot export connection secrets.")
    entities = {
        name: _export_rows(
            adapter,
            workspace_id=membership.workspace_id,
            user=membership.user,
            include_secrets=include_secrets,
            created_by_only=created_by_only,
        )
        for name, adapter in _entities()
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat().replace("+00:00", "Z"),
        "scope": "account" if created_by_only else "workspace",
        "source": {
            "workspace_id": str(membership.workspace_id),
            "workspace_name": membership.workspace.name,
            "exported_by": str(membership.user_id),
            "role": membership.role,
            "release": settings.RELEASE,
        },
        "secrets_included": include_secrets,
        "entities": entities,
    }


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


def account_data_export(user: Any) -> list[dict[str, Any]]:
    """The "all my data" section of the account export (accounts.hooks): for every workspace
    the user belongs to, the connections and saved queries they created and their own history
    and chats. Never secrets."""
    with db_context(workspace_id=None, user_id=user.pk):
        memberships = list(
            Membership.objects.filter(user_id=user.pk)
            .select_related("workspace", "user")
            .order_by("created_at")
        )
    sections = []
    for membership in memberships:
        with db_context(workspace_id=membership.workspace_id, user_id=user.pk):
            sections.append(build_export(membership=membership, created_by_only=True))
    return sections


# --- passphrase envelope -----------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise _bad_envelope(f"{name} must be base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_envelope(f"{name} is not valid base64.") from None


def _bad_envelope(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_export")


def _header_aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _check_passphrase(passphrase: Any) -> str:
    if not isinstance(passphrase, str) or not MIN_PASSPHRASE <= len(passphrase) <= MAX_PASSPHRASE:
        raise validation_error(
            "passphrase", f"must be {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters."
        )
    return passphrase


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def seal_document(document: dict[str, Any], passphrase: str) -> dict[str, Any]:
    """The document encrypted under a key derived from `passphrase` (scrypt), with AES-256-GCM.
    The envelope's header (format, version, KDF and cipher parameters) is the associated data,
    so none of it can be changed without the decryption failing."""
    passphrase = _check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {
        "format": ENCRYPTED_FORMAT,
        "version": VERSION,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
    }
    plaintext = json.dumps(document, separators=(",", ":")).encode("utf-8")
    key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _header_aad(header))
    return {**header, "ciphertext": _b64(ciphertext)}


def open_document(envelope: dict[str, Any], passphrase: Any) -> dict[str, Any]:
    """The document inside an envelope made by seal_document; 400 on a wrong passphrase or a
    tampered envelope (the two are indistinguishable, by design)."""
    if passphrase is None:
        raise ApplicationError(
            "This export is encrypted: send its passphrase.", code="passphrase_required"
        )
    passphrase = _check_passphrase(passphrase)
    if envelope.get("version") != VERSION:
        raise ApplicationError(
            "This encrypted export's version is not supported.", code="unsupported_export"
        )
    kdf, cipher = envelope.get("kdf"), envelope.get("cipher")
    if not isinstance(kdf, dict) or not isinstance(cipher, dict):
        raise _bad_envelope("The envelope lacks its kdf or cipher parameters.")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if (
        kdf.get("name") != "scrypt"
        or not isinstance(n, int)
        or not SCRYPT_N_RANGE[0] <= n <= SCRYPT_N_RANGE[1]
        or n & (n - 1)
        or r != SCRYPT_R
        or p != SCRYPT_P
    ):
        raise _bad_envelope("Unsupported key derivation parameters.")
    if cipher.get("name") != "AES-256-GCM":
        raise _bad_envelope("Unsupported cipher.")
    salt = _unb64(kdf.get("salt"), "kdf.salt")
    nonce = _unb64(cipher.get("nonce"), "cipher.nonce")
    ciphertext = _unb64(envelope.get("ciphertext"), "ciphertext")
    if not 16 <= len(salt) <= 64 or len(nonce) != 12 or len(ciphertext) < 16:
        raise _bad_envelope("The envelope's salt, nonce or ciphertext has the wrong size.")
    header = {k: envelope[k] for k in ("format", "version", "kdf", "cipher")}
    key = _derive(passphrase, salt, n, r, p)
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _header_aad(header))
    except InvalidTag:
        raise ApplicationError(
            "The passphrase does not open this export (or the file was changed).",
            code="export_passphrase_invalid",
        ) from None
    try:
        document = json.loads(plaintext)
    except ValueError:
        raise _bad_envelope("The decrypted export is not JSON.") from None
    if not isinstance(document, dict):
        raise _bad_envelope("The decrypted export is not a JSON object.")
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
    rows = _manager(adapter).filter(workspace_id=workspace_id, deleted=False)
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
    known = {name for name, _ in _entities()}
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
    for name, adapter in _entities():
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
            row = item.adapter.new_row(
                workspace_id=membership.workspace_id, user=membership.user, row_id=item.new_id
            )
            item.adapter.apply(row, item.fields)
            for name, value in item.extra.items():
                setattr(row, name, value)
            row.created_at = item.created_at
            row.touch_fields(item.fields, version=clock.next(), writer=writer)
            batch.append(row)
            if len(batch) >= IMPORT_BATCH or item is items[-1]:
                _flush(batch)
                batch = []


def _flush(batch: list[SyncedModel]) -> None:
    # One model per run of rows: the planned order groups rows by entity.
    by_model: dict[type[SyncedModel], list[SyncedModel]] = {}
    for row in batch:
        by_model.setdefault(type(row), []).append(row)
    for model, rows in by_model.items():
        model._default_manager.bulk_create(rows)


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
