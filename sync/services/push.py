"""Push: apply a client's mutations exactly once, merging field by field.

One push is one transaction (retried on transient failures, see `run_bound`):

1. lock the client's row (a retry racing the original waits here, then sees its effects);
2. replays (at or below `last_mutation_id`) answer their stored result as `duplicate`;
3. reserve versions: this locks the workspace's clock row until commit, so every row read
   afterwards is the latest committed state and no other writer of the workspace runs;
4. each new mutation is applied or rejected on its own (a rejection is a result, not an error:
   the mutation still counts as processed);
5. the results and the new `last_mutation_id` are written in the same transaction as the
   effects, so a lost response never double-applies and a failed transaction counts nothing.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.entities import EntityAdapter, FieldError, adapter_for
from core.entity_bulk import existing_ids, insert_rows, new_row
from core.entity_writes import tombstone_cascades
from core.exceptions import ApplicationError
from core.models import WorkspaceClock
from core.versioning import SyncedModel, VersionClock, note_change
from sync.models import Conflict, ConflictStatus, MutationResult, Outcome, SyncClient
from sync.records import (
    CONFLICT_ENTITY,
    COPY_SUFFIX,
    in_workspace,
    row_fields,
    set_sides,
    wire_value,
)
from sync.services.common import client_writer, run_bound
from workspaces.entitlements import ensure_within_limit, entitlements_for
from workspaces.models import ConflictPolicy, Role, role_at_least
from workspaces.secrets import Principal, may_send_secrets_from_device

# Plan limits counted on create (live rows of the entity in the workspace).
ENTITY_LIMITS = {"connection": "connections", "saved_query": "saved_queries"}
# Field that names a row: a keep_both copy gets " (conflict copy)" appended to it.
NAME_FIELDS = ("name", "title")


@dataclass
class PushOutcome:
    results: list[dict[str, Any]]
    last_mutation_id: int
    version: int
    # Set when the request hit a gap: the id the server expected instead.
    expected_mutation_id: int | None = None


class Reject(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def sync_push(
    *,
    workspace: Any,
    user: Any,
    role: str,
    client_id: str,
    device: Mapping[str, Any],
    mutations: Sequence[Mapping[str, Any]],
) -> PushOutcome:
    """Apply `mutations` of one client (already checked for shape: each has an integer
    `mutation_id` >= 1). Raises 402 `plan_limit` for a new device over the plan's limit and 503
    when the database stays unavailable; in both cases nothing was counted."""

    def work() -> PushOutcome:
        return _Push(
            workspace=workspace, user=user, role=role, client_id=client_id, device=device
        ).run(mutations)

    return run_bound(
        work,
        workspace_id=workspace.pk,
        user_id=user.pk,
        what="push",
        lock_timeout_ms=settings.SYNC_LOCK_TIMEOUT_MS,
    )


def register_client(
    *, workspace: Any, user: Any, client_id: str, device: Mapping[str, Any] | None, lock: bool
) -> SyncClient:
    """The caller's client row, created on first use (402 past the plan's device limit)."""
    clients = SyncClient.objects.filter(workspace_id=workspace.pk, user_id=user.pk)
    found = (clients.select_for_update() if lock else clients).filter(client_id=client_id).first()
    if found is not None:
        return found
    ensure_within_limit(
        workspace,
        "sync_devices",
        current=SyncClient.objects.filter(workspace_id=workspace.pk).count(),
    )
    new = SyncClient(workspace_id=workspace.pk, user_id=user.pk, client_id=client_id)
    _set_device(new, device)
    # Two first requests of one client may race: the second inserts nothing and reads the first.
    SyncClient.objects.bulk_create([new], ignore_conflicts=True)
    return (clients.select_for_update() if lock else clients).get(client_id=client_id)


def _set_device(client: SyncClient, device: Mapping[str, Any] | None) -> None:
    if not device:
        return
    for attr, key, size in (
        ("device_name", "name", 200),
        ("platform", "platform", 64),
        ("app_version", "app_version", 64),
    ):
        value = device.get(key)
        if isinstance(value, str):
            setattr(client, attr, value[:size])


@dataclass
class _Push:
    workspace: Any
    user: Any
    role: str
    client_id: str
    device: Mapping[str, Any]
    clock: VersionClock | None = None
    rows: dict[tuple[str, uuid.UUID], SyncedModel | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    client: SyncClient | None = None
    # New rows are inserted in batches (one round trip per entity instead of one per row);
    # every read of the database in the loop flushes them first.
    pending: list[SyncedModel] = field(default_factory=list)
    pending_ids: set[int] = field(default_factory=set)
    # (adapter, new row, encrypted fields) still to encrypt: see seal_deferred()
    deferred: list[tuple[type[EntityAdapter], SyncedModel, dict[str, Any]]] = field(
        default_factory=list
    )
    # results by the row they touched, so a batch insert that finds an id taken can reject them
    touched: dict[tuple[str, uuid.UUID], list[dict[str, Any]]] = field(default_factory=dict)
    # highest versions written, for the pokes after commit (private: the pusher's own rows)
    public_noted: int = 0
    private_noted: int = 0
    limits: dict[str, int | None] = field(default_factory=dict)

    @functools.cached_property
    def writer(self) -> str:
        return client_writer(self.user.pk, self.client_id)

    @functools.cached_property
    def may_write(self) -> bool:
        return role_at_least(self.role, Role.MEMBER)

    @functools.cached_property
    def keeps_secrets(self) -> bool:
        """Whether secret fields this device sends are kept (workspaces.secrets)."""
        return may_send_secrets_from_device(
            Principal.member(role=self.role, user=self.user), workspace=self.workspace
        )

    def plan_limit(self, name: str) -> int | None:
        """The plan's limit `name` (looked up once per push)."""
        if name not in self.limits:
            self.limits[name] = entitlements_for(self.workspace).limit(name)
        return self.limits[name]

    # --- the request ------------------------------------------------------------------------

    def run(self, mutations: Sequence[Mapping[str, Any]]) -> PushOutcome:
        client = register_client(
            workspace=self.workspace,
            user=self.user,
            client_id=self.client_id,
            device=self.device,
            lock=True,
        )
        self.client = client
        last = client.last_mutation_id
        run_ids = _consecutive_run([int(m["mutation_id"]) for m in mutations], last)
        stored = self._stored(
            [int(m["mutation_id"]) for m in mutations if m["mutation_id"] <= last]
        )
        # Each mutation's row id, parsed once (None: not a UUID).
        row_ids = [_uuid(m.get("id")) for m in mutations]
        if run_ids:
            self.clock = VersionClock.reserve(self.workspace.pk, count=len(run_ids), poke=False)
            self._prefetch(
                [
                    (m, row_id)
                    for m, row_id in zip(mutations, row_ids, strict=True)
                    if int(m["mutation_id"]) in run_ids
                ]
            )

        results: list[dict[str, Any]] = []
        new_results: list[tuple[int, dict[str, Any]]] = []
        expected: int | None = None
        for mutation, row_id in zip(mutations, row_ids, strict=True):
            mutation_id = int(mutation["mutation_id"])
            if mutation_id <= last:
                results.append(_duplicate(mutation_id, stored.get(mutation_id)))
                continue
            if mutation_id != last + 1:
                expected = last + 1
                break
            result = self._apply(mutation, row_id)
            entity = mutation.get("entity")
            if row_id is not None and isinstance(entity, str):
                self.touched.setdefault((entity, row_id), []).append(result)
            results.append(result)
            stored[mutation_id] = result
            new_results.append((mutation_id, result))
            last = mutation_id

        self.flush()
        now = timezone.now()
        # After flush(): a row whose insert was refused has rewritten its mutations' results.
        self._store(new_results, now)
        self._publish_notes()
        client.last_mutation_id = last
        client.last_push_at = now
        client.updated_at = now
        _set_device(client, self.device)
        client.save(
            update_fields=[
                "last_mutation_id",
                "last_push_at",
                "updated_at",
                "device_name",
                "platform",
                "app_version",
            ]
        )
        if self.clock is not None:
            version = self.clock.last
        else:
            version = (
                WorkspaceClock.objects.filter(workspace_id=self.workspace.pk)
                .values_list("version", flat=True)
                .first()
                or 0
            )
        return PushOutcome(results, last, version, expected)

    def _stored(self, mutation_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored results of these (already processed) mutations, by id."""
        if not mutation_ids:
            return {}
        wanted = set(mutation_ids)
        low, high = min(wanted), max(wanted)
        mine = MutationResult.objects.filter(
            workspace_id=self.workspace.pk, user_id=self.user.pk, client_id=self.client_id
        )
        # A row holds a run of ids starting at its mutation_id, and runs never overlap: the
        # row that may hold `low` is the last one starting at or before it (one index probe),
        # so the scan below covers only the rows that can hold a wanted id.
        start = (
            mine.filter(mutation_id__lte=low)
            .order_by("-mutation_id")
            .values_list("mutation_id", flat=True)
            .first()
        )
        rows = mine.filter(mutation_id__gte=low if start is None else start, mutation_id__lte=high)
        found: dict[int, dict[str, Any]] = {}
        for row in rows:
            for mutation_id, result in row.results().items():
                if mutation_id in wanted:
                    found[mutation_id] = result
        return found

    def _store(self, results: Sequence[tuple[int, dict[str, Any]]], now: Any) -> None:
        """The exactly-once ledger: one row per run of consecutive mutation ids (a push
        processes one run, so one row), holding each mutation's result in order."""
        runs: list[list[tuple[int, dict[str, Any]]]] = []
        for mutation_id, result in results:
            if runs and runs[-1][-1][0] + 1 == mutation_id:
                runs[-1].append((mutation_id, result))
            else:
                runs.append([(mutation_id, result)])
        MutationResult.objects.bulk_create(
            [
                MutationResult(
                    workspace_id=self.workspace.pk,
                    user_id=self.user.pk,
                    client_id=self.client_id,
                    mutation_id=run[0][0],
                    last_mutation_id=run[-1][0],
                    result=[result for _, result in run],
                    created_at=now,
                )
                for run in runs
            ]
        )

    def _prefetch(self, mutations: Sequence[tuple[Mapping[str, Any], uuid.UUID | None]]) -> None:
        """Load the rows the mutations name, one query per entity; ids that exist nowhere (a
        batch of creates) are found by a cheap id-only query first and never hydrated."""
        wanted: dict[str, set[uuid.UUID]] = {}
        for mutation, row_id in mutations:
            adapter = adapter_for(str(mutation.get("entity")))
            if adapter is not None and row_id is not None:
                wanted.setdefault(adapter.entity, set()).add(row_id)
        for entity, ids in wanted.items():
            adapter = adapter_for(entity)
            if adapter is None:
                continue
            present = existing_ids(adapter.model, self.workspace.pk, ids)
            found = (
                {
                    row.id: row
                    for row in in_workspace(adapter.model, self.workspace.pk).filter(id__in=present)
                }
                if present
                else {}
            )
            for row_id in ids:
                self.rows[(entity, row_id)] = found.get(row_id)

    def defer_seal(
        self, adapter: type[EntityAdapter], row: SyncedModel, fields: dict[str, Any]
    ) -> None:
        """Encrypt `fields` of a new row later, all new rows in one pass (see seal_deferred)."""
        self.deferred.append((adapter, row, fields))

    def seal_deferred(self) -> None:
        """Set the encrypted fields of new rows. Creates encrypt in one pass before the insert
        (or before any mutation reads a row this push holds): the same calls as one by one,
        at about half the cost per value, since the cipher code stays hot between them."""
        deferred, self.deferred = self.deferred, []
        for adapter, row, fields in deferred:
            adapter.apply(row, fields)

    def insert(self, row: SyncedModel) -> None:
        self.pending.append(row)
        self.pending_ids.add(id(row))

    def is_pending(self, row: SyncedModel) -> bool:
        return id(row) in self.pending_ids

    def flush(self) -> None:
        """Insert the pending new rows. The unique (workspace, id) index may refuse one whose
        id another member's private row holds (invisible under row-level security): then the
        batch is retried row by row and the mutations on that id are rejected."""
        self.seal_deferred()
        if not self.pending:
            return
        groups: dict[type[SyncedModel], list[SyncedModel]] = {}
        for row in self.pending:
            groups.setdefault(type(row), []).append(row)
        self.pending, self.pending_ids = [], set()
        for model, rows in groups.items():
            try:
                with transaction.atomic():
                    insert_rows(model, rows)
            except IntegrityError:
                for row in rows:
                    try:
                        with transaction.atomic():
                            row.save(force_insert=True)
                    except IntegrityError:
                        self._reject_taken(row)

    def cascade(self, adapter: type[EntityAdapter], row: SyncedModel) -> None:
        """The rows that die with a deleted one (a chat's messages), as every door deletes them
        (`core.entity_writes.tombstone_cascades`). Children created earlier in this push are
        inserted first; the ones this push holds are read again when a later mutation names
        them."""
        self.flush()
        tombstone_cascades(adapter, row, writer=self.writer)
        for entity in adapter.cascade_deletes:
            for key in [key for key in self.rows if key[0] == entity]:
                del self.rows[key]

    def _reject_taken(self, row: SyncedModel) -> None:
        key = (row.sync_entity, row.id)
        self.rows.pop(key, None)
        for result in self.touched.get(key, []):
            kept: dict[str, Any] = {k: result[k] for k in ("mutation_id", "id") if k in result}
            result.clear()
            result.update(kept)
            result["status"] = "rejected"
            result["error"] = {
                "code": "forbidden",
                "message": "This id belongs to a row you cannot see.",
                "field": "id",
            }

    def _version(self) -> int:
        if self.clock is None or self.clock.remaining == 0:
            self.clock = VersionClock.reserve(self.workspace.pk, count=16, poke=False)
        return self.clock.next()

    def _note(self, adapter: type[EntityAdapter] | None, version: int) -> None:
        """Remember a written version; `_publish_notes` arranges the pokes once per push."""
        if adapter is not None and adapter.private:
            self.private_noted = max(self.private_noted, version)
        else:
            self.public_noted = max(self.public_noted, version)

    def _publish_notes(self) -> None:
        # Same pokes as one note_change per row (they aggregate to the highest version per
        # audience within the transaction), without 1,000 on_commit callbacks.
        if self.public_noted:
            note_change(self.workspace.pk, self.public_noted)
        if self.private_noted:
            note_change(self.workspace.pk, self.private_noted, private_to=self.user.pk)

    # --- one mutation -----------------------------------------------------------------------

    def _apply(self, mutation: Mapping[str, Any], row_id: uuid.UUID | None) -> dict[str, Any]:
        mutation_id = int(mutation["mutation_id"])
        base: dict[str, Any] = {
            "mutation_id": mutation_id,
            "id": str(row_id) if row_id is not None else None,
        }
        try:
            return {**base, **self._mutate(mutation, row_id)}
        except Reject as reject:
            error: dict[str, Any] = {"code": reject.code, "message": reject.message}
            if reject.field:
                error["field"] = reject.field
            return {**base, "status": "rejected", "error": error}

    def _mutate(self, mutation: Mapping[str, Any], row_id: uuid.UUID | None) -> dict[str, Any]:
        entity = mutation.get("entity")
        adapter = adapter_for(entity) if isinstance(entity, str) else None
        if adapter is None:
            if entity == CONFLICT_ENTITY:
                raise Reject("forbidden", "Conflict records are written by the server only.")
            raise Reject("unknown_entity", f"Unknown entity: {entity!r}.", "entity")
        if row_id is None:
            raise Reject("invalid", "id must be a UUID.", "id")
        op = mutation.get("op")
        if op not in ("upsert", "delete"):
            raise Reject("invalid", "op must be upsert or delete.", "op")
        base_version = mutation.get("base_version")
        if base_version is not None and (
            isinstance(base_version, bool) or not isinstance(base_version, int) or base_version < 0
        ):
            raise Reject("invalid", "base_version must be null or an integer >= 0.", "base_version")
        if not self.may_write:
            raise Reject("forbidden", "Viewers cannot change the workspace's data.")
        fields = mutation.get("fields") or {}
        if op == "upsert" and not isinstance(fields, dict):
            raise Reject("invalid", "fields must be an object.", "fields")

        stripped: list[str] = []
        if op == "upsert" and not self.keeps_secrets and adapter.secret_fields:
            stripped = sorted(name for name in fields if name in adapter.secret_fields)
            fields = {k: v for k, v in fields.items() if k not in adapter.secret_fields}

        key = (adapter.entity, row_id)
        if key not in self.rows:
            self.flush()
            self.rows[key] = (
                in_workspace(adapter.model, self.workspace.pk).filter(id=row_id).first()
            )
        row = self.rows[key]
        if row is not None and self.deferred:
            self.seal_deferred()  # the row may be read from here on
        context = _Mutation(self, adapter, row_id, base_version, mutation)
        result = context.delete(row) if op == "delete" else context.upsert(row, fields)
        if stripped:
            result["stripped_fields"] = stripped
        return result


@dataclass
class _Mutation:
    push: _Push
    adapter: type[EntityAdapter]
    row_id: uuid.UUID
    base_version: int | None
    mutation: Mapping[str, Any]

    # --- helpers ----------------------------------------------------------------------------

    def _validate(self, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        try:
            clean = self.adapter.validate(fields, creating=creating)
        except FieldError as error:
            raise Reject(error.code, error.message, error.field) from None
        for name, entity in self.adapter.references.items():
            target = clean.get(name)
            if target is None:
                continue
            ref = adapter_for(entity)
            if ref is None:
                raise Reject("not_found", f"{name} names an unknown entity.", name)
            cached = self.push.rows.get((entity, target))
            # A tombstone still counts: a device may reference a row deleted elsewhere.
            exists = (
                cached is not None
                or in_workspace(ref.model, self.push.workspace.pk).filter(id=target).exists()
            )
            if not exists:
                raise Reject("not_found", f"{name} names no {entity} you can see.", name)
        return clean

    def _changed(self, row: SyncedModel, clean: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: value
            for name, value in clean.items()
            if wire_value(self.adapter.read(row, name)) != wire_value(value)
        }

    def _concurrent(self, row: SyncedModel, name: str) -> bool:
        """Written by another writer after the version this client based its change on."""
        version, writer = row.field_version(name)
        return version > (self.base_version or 0) and writer != self.push.writer

    def _save(self, row: SyncedModel, names: Any, *, creating: bool = False) -> int:
        version = self.push._version()
        row.touch_fields(names, version=version, writer=self.push.writer)
        if creating:
            self.push.insert(row)
        elif not self.push.is_pending(row):  # a row created earlier in this push is inserted
            row.save()  # once, with its final state, by flush()
        self.push._note(self.adapter, version)
        return version

    def _record(
        self,
        row: SyncedModel | None,
        *,
        client: dict[str, Any],
        server: dict[str, Any],
        conflicting: list[str],
        server_version: int | None,
        outcome: str,
        automatic: bool,
        copy_id: uuid.UUID | None = None,
    ) -> Conflict:
        push = self.push
        policy = push.workspace.sync_conflict_policy
        conflict = Conflict(
            workspace_id=push.workspace.pk,
            id=uuid.uuid4(),
            entity=self.adapter.entity,
            entity_id=self.row_id,
            status=ConflictStatus.RESOLVED if automatic else ConflictStatus.OPEN,
            policy=policy,
            base_version=self.base_version,
            server_version=server_version,
            conflicting_fields=sorted(conflicting),
            client_id=push.client_id,
            device_name=(push.client.device_name if push.client else "")[:200],
            mutation_id=int(self.mutation["mutation_id"]),
            user_id=push.user.pk,
            private_to=push.user.pk if self.adapter.private else None,
            outcome=outcome,
            copy_id=copy_id,
            resolution="auto" if automatic else "",
            resolved_at=timezone.now() if automatic else None,
        )
        set_sides(conflict, client_fields=client, server_fields=server)
        version = push._version()
        conflict.version = version
        conflict.field_versions = {}
        conflict.save(force_insert=True)
        push._note(self.adapter, version)
        return conflict

    # --- delete -----------------------------------------------------------------------------

    def delete(self, row: SyncedModel | None) -> dict[str, Any]:
        if row is None or row.deleted:
            # Nothing to delete (never created, purged, or already a tombstone): a no-op.
            return {"status": "applied", "version": row.version if row is not None else None}
        lost = [
            name
            for name in self.adapter.fields()
            if not self.adapter.append_only and self._concurrent(row, name)
        ]
        server_version = row.version
        lost_values = row_fields(self.adapter, row, lost)
        row.deleted = True
        row.deleted_at = timezone.now()
        version = self._save(row, ["deleted"])
        if self.adapter.cascade_deletes:
            self.push.cascade(self.adapter, row)
        if not lost:
            return {"status": "applied", "version": version}
        # Delete against update: the tombstone wins; the edit it overrode is kept here.
        manual = self.push.workspace.sync_conflict_policy == ConflictPolicy.MANUAL
        conflict = self._record(
            row,
            client={"deleted": True},
            server=lost_values,
            conflicting=lost,
            server_version=server_version,
            outcome=Outcome.CLIENT,
            automatic=not manual,
        )
        return {"status": "conflict", "version": version, "conflict_id": str(conflict.id)}

    # --- upsert -----------------------------------------------------------------------------

    def upsert(self, row: SyncedModel | None, fields: Mapping[str, Any]) -> dict[str, Any]:
        if row is None:
            if self.base_version is not None:
                return self._upsert_on_tombstone(None, fields)
            return self._create(fields)
        if self.adapter.append_only:
            clean = self._validate(fields, creating=False)
            if self._changed(row, clean):
                raise Reject("immutable", f"A {self.adapter.entity} cannot be changed.")
            return {"status": "applied", "version": row.version}
        if row.deleted:
            return self._upsert_on_tombstone(row, fields)
        clean = self._validate(fields, creating=False)
        changed = self._changed(row, clean)
        if not changed:
            return {"status": "applied", "version": row.version}

        conflicting = {name for name in changed if self._concurrent(row, name)}
        secret = self.adapter.secret_fields
        server_side = set(conflicting)
        if secret & changed.keys():
            # Secrets merge as one unit: a concurrent change to any of them conflicts with a
            # change to any other.
            concurrent_secrets = {name for name in secret if self._concurrent(row, name)}
            if concurrent_secrets:
                conflicting |= secret & changed.keys()
                server_side |= concurrent_secrets
        if not conflicting:
            merged = any(
                self._concurrent(row, name) for name in self.adapter.fields() if name not in changed
            )
            self.adapter.apply(row, changed)
            version = self._save(row, changed)
            return {"status": "merged" if merged else "applied", "version": version}
        return self._conflict(row, changed, conflicting, server_side)

    def _create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        clean = self._validate(fields, creating=True)
        limit = ENTITY_LIMITS.get(self.adapter.entity)
        # An unlimited plan needs no count of the workspace's rows.
        allowed = self.push.plan_limit(limit) if limit is not None else None
        if limit is not None and allowed is not None:
            push = self.push
            if self.adapter.entity not in push.counts:
                push.flush()
                push.counts[self.adapter.entity] = (
                    in_workspace(self.adapter.model, push.workspace.pk)
                    .filter(deleted=False)
                    .count()
                )
            if push.counts[self.adapter.entity] + 1 > allowed:
                try:  # the same check, for its message
                    ensure_within_limit(
                        push.workspace, limit, current=push.counts[self.adapter.entity]
                    )
                except ApplicationError as error:
                    raise Reject("plan_limit", error.message) from None
        row = new_row(
            self.adapter,
            workspace_id=self.push.workspace.pk,
            user=self.push.user,
            row_id=self.row_id,
        )
        encrypted = self.adapter.encrypted
        if encrypted:
            self.adapter.apply(row, {k: v for k, v in clean.items() if k not in encrypted})
            secret = {k: v for k, v in clean.items() if k in encrypted}
            if secret:
                self.push.defer_seal(self.adapter, row, secret)
        else:
            self.adapter.apply(row, clean)
        version = self._save(row, clean, creating=True)
        self.push.rows[(self.adapter.entity, self.row_id)] = row
        if allowed is not None:
            self.push.counts[self.adapter.entity] += 1
        return {"status": "applied", "version": version}

    def _upsert_on_tombstone(
        self, row: SyncedModel | None, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """An upsert never resurrects a deleted row by itself: the edit goes into a conflict
        record, from which `keep_client` restores the row."""
        if row is not None:
            clean = self._validate(fields, creating=False)
            changed = self._changed(row, clean)
            if self.adapter.append_only:
                if changed:
                    raise Reject("immutable", f"A {self.adapter.entity} cannot be changed.")
                return {"status": "applied", "version": row.version}
            if not changed:
                return {"status": "applied", "version": row.version}
        else:
            # The row was purged long after its deletion (or never existed here).
            changed = self._validate(fields, creating=False)
            if self.adapter.append_only:
                raise Reject("immutable", f"A {self.adapter.entity} cannot be changed.")
        manual = self.push.workspace.sync_conflict_policy == ConflictPolicy.MANUAL
        conflict = self._record(
            row,
            client={name: wire_value(value) for name, value in changed.items()},
            server={"deleted": True},
            conflicting=sorted(changed),
            server_version=row.version if row is not None else None,
            outcome=Outcome.SERVER,
            automatic=not manual,
        )
        return {
            "status": "conflict",
            "version": row.version if row is not None else None,
            "conflict_id": str(conflict.id),
        }

    def _conflict(
        self,
        row: SyncedModel,
        changed: dict[str, Any],
        conflicting: set[str],
        server_side: set[str],
    ) -> dict[str, Any]:
        policy = self.push.workspace.sync_conflict_policy
        server_version = row.version
        server_values = row_fields(self.adapter, row, sorted(server_side))
        client_values = {name: wire_value(value) for name, value in changed.items()}
        copy_id: uuid.UUID | None = None
        if policy == ConflictPolicy.LAST_WRITE_WINS:
            # The later write (this one) wins every field; the server's values are recorded.
            self.adapter.apply(row, changed)
            version = self._save(row, changed)
            outcome = Outcome.CLIENT
        else:
            keep = {name: value for name, value in changed.items() if name not in conflicting}
            if keep:
                self.adapter.apply(row, keep)
                version = self._save(row, keep)
            else:
                version = row.version
            outcome = Outcome.SERVER
            if policy == ConflictPolicy.KEEP_BOTH:
                copy_id = self._copy(row, changed)
                outcome = Outcome.BOTH
        conflict = self._record(
            row,
            client=client_values,
            server=server_values,
            conflicting=sorted(conflicting),
            server_version=server_version,
            outcome=outcome,
            automatic=policy != ConflictPolicy.MANUAL,
            copy_id=copy_id,
        )
        return {"status": "conflict", "version": version, "conflict_id": str(conflict.id)}

    def _copy(self, row: SyncedModel, changed: Mapping[str, Any]) -> uuid.UUID:
        """keep_both: a new row holding the client's version (not counted against plan limits:
        refusing it would lose the client's edit)."""
        copy_id = uuid.uuid4()
        copy = self.adapter.new_row(
            workspace_id=self.push.workspace.pk, user=self.push.user, row_id=copy_id
        )
        values = {name: self.adapter.read(row, name) for name in self.adapter.fields()}
        values.update(changed)
        for name in NAME_FIELDS:
            if name in values:
                values[name] = (str(values[name] or "") + COPY_SUFFIX)[-200:]
                break
        self.adapter.apply(copy, values)
        version = self.push._version()
        copy.touch_fields(values, version=version, writer=self.push.writer)
        copy.save(force_insert=True)
        self.push._note(self.adapter, version)
        self.push.rows[(self.adapter.entity, copy_id)] = copy
        return copy_id


def _consecutive_run(ids: Sequence[int], last: int) -> set[int]:
    """The ids this request will process: last+1, last+2, ... up to the first gap."""
    run: set[int] = set()
    current = last
    for mutation_id in ids:
        if mutation_id <= current:
            continue
        if mutation_id != current + 1:
            break
        current = mutation_id
        run.add(mutation_id)
    return run


def _duplicate(mutation_id: int, stored: dict[str, Any] | None) -> dict[str, Any]:
    if stored is None:
        # Processed long ago; its stored result was collected (docs/sync.md).
        return {"mutation_id": mutation_id, "status": "duplicate", "original_status": None}
    return {**stored, "status": "duplicate", "original_status": stored.get("status")}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except (ValueError, TypeError, AttributeError):
        return None
