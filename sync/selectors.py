"""Reads of sync state: pull pages, conflict records, devices, secret holders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from accounts.models import User
from core.entities import EntityAdapter, adapter_for, adapters
from core.models import WorkspaceClock
from core.versioning import SyncedModel
from sync.cursor import decode_cursor, encode_cursor
from sync.models import Conflict, ConflictStatus, SecretDelivery, SyncClient
from sync.records import CONFLICT_ENTITY, in_workspace, serialize_conflict
from workspaces.audit import Action
from workspaces.models import Membership
from workspaces.secrets import Channel, Principal, may_receive_secrets
from workspaces.selectors import audit_events


@dataclass(frozen=True)
class Delivery:
    """One version of one row's secrets in a pull page (a row for the delivery ledger)."""

    entity: str
    row_id: uuid.UUID
    secret_version: int
    conflict_id: uuid.UUID | None = None


@dataclass
class PullPage:
    changes: list[dict[str, Any]]
    cursor: str
    has_more: bool
    reset: bool
    last_mutation_id: int
    # The secrets this page hands to the device: the pull records them before answering.
    deliveries: list[Delivery]


def _sources() -> list[tuple[str, type[SyncedModel], type[EntityAdapter] | None]]:
    sources: list[tuple[str, type[SyncedModel], type[EntityAdapter] | None]] = [
        (name, adapter.model, adapter) for name, adapter in sorted(adapters().items())
    ]
    sources.append((CONFLICT_ENTITY, Conflict, None))
    return sources


def set_repeatable_read(*, outermost: bool) -> None:
    """Must be the first statement of the transaction: every later read shares one snapshot.
    Nested in an outer transaction (tests that wrap each test in one) it cannot be chosen, and
    the outer transaction's level applies."""
    if not outermost:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def sync_pull(
    *, workspace: Any, user: Any, role: str, client_id: str, cursor: str | None, limit: int
) -> PullPage:
    """One page of changes after `cursor`, read from one REPEATABLE READ snapshot (the caller
    opened it): the changes, the clock and the client's `last_mutation_id` agree.

    Secret fields (of rows and inside conflict records) are in the page only when the rule for
    sync pull allows them to this member (workspaces.secrets: member and up, `sync_secrets`
    on); the page lists them in `deliveries` for the ledger.

    Why no change is skipped: a writer reserves its versions by updating the workspace's clock
    row and holds that row locked until it commits, so writers commit in version order. In this
    snapshot the clock reads V, and every version up to V belongs to a transaction that is
    either visible here or rolled back; nothing at or below V can commit later. The cursor
    therefore only ever advances to a version at or below V (docs/sync.md).
    """
    clock = (
        WorkspaceClock.objects.filter(workspace_id=workspace.pk)
        .values_list("version", "horizon")
        .first()
    )
    snapshot, horizon = clock if clock is not None else (0, 0)
    last_mutation_id = (
        SyncClient.objects.filter(workspace_id=workspace.pk, user_id=user.pk, client_id=client_id)
        .values_list("last_mutation_id", flat=True)
        .first()
        or 0
    )
    reset = False
    after = 0
    if cursor:
        decoded = decode_cursor(cursor, workspace_id=workspace.pk)
        if decoded is None or decoded.version > snapshot or decoded.version < horizon:
            reset = True  # unreadable, from another workspace, from the future, or purged past
        else:
            after = decoded.version

    rows = _changed_rows(workspace.pk, after=after, upto=snapshot, limit=limit + 1)
    has_more = len(rows) > limit
    if has_more:
        boundary = rows[limit - 1][0]
        # Never split a version across pages: the page ends with every row of `boundary`.
        rows = [r for r in rows if r[0] < boundary] + _rows_at(workspace.pk, boundary)
        next_version = boundary
    else:
        next_version = snapshot
    include_secrets = may_receive_secrets(
        Principal.member(role=role, user=user), Channel.SYNC_PULL, workspace=workspace
    )
    changes = [_change(entity, row, adapter, include_secrets) for _, entity, row, adapter in rows]
    deliveries = (
        [
            found
            for (_, _, row, adapter), change in zip(rows, changes, strict=True)
            if (found := _delivery(row, adapter, change["data"])) is not None
        ]
        if include_secrets
        else []
    )
    if deliveries:
        deliveries = _not_yet_recorded(workspace.pk, user.pk, client_id, deliveries)
    return PullPage(
        changes=changes,
        cursor=encode_cursor(workspace_id=workspace.pk, version=next_version, horizon=horizon),
        has_more=has_more,
        reset=reset,
        last_mutation_id=last_mutation_id,
        deliveries=deliveries,
    )


Row = tuple[int, str, SyncedModel, type[EntityAdapter] | None]


def _changed_rows(workspace_id: uuid.UUID, *, after: int, upto: int, limit: int) -> list[Row]:
    """The first `limit` rows by version in (after, upto], over every synced table. Each table
    answers from its (workspace_id, version) index with at most `limit` rows, so the cost is
    proportional to the page, not to the workspace."""
    rows: list[Row] = []
    for entity, model, adapter in _sources():
        found = (
            in_workspace(model, workspace_id)
            .filter(version__gt=after, version__lte=upto)
            .order_by("version")[:limit]
        )
        rows.extend((row.version, entity, row, adapter) for row in found)
    rows.sort(key=lambda r: (r[0], r[1], str(r[2].id)))
    return rows[:limit]


def _rows_at(workspace_id: uuid.UUID, version: int) -> list[Row]:
    rows: list[Row] = []
    for entity, model, adapter in _sources():
        found = in_workspace(model, workspace_id).filter(version=version)
        rows.extend((row.version, entity, row, adapter) for row in found)
    rows.sort(key=lambda r: (r[1], str(r[2].id)))
    return rows


def _change(
    entity: str, row: SyncedModel, adapter: type[EntityAdapter] | None, include_secrets: bool
) -> dict[str, Any]:
    if row.deleted:
        return {
            "entity": entity,
            "id": str(row.id),
            "op": "delete",
            "version": row.version,
            "data": None,
        }
    if isinstance(row, Conflict):
        data = serialize_conflict(row, include_secrets=include_secrets)
    elif adapter is None:
        raise TypeError(f"no adapter for {entity}")
    else:
        data = adapter.serialize(row, include_secrets=include_secrets)
    return {
        "entity": entity,
        "id": str(row.id),
        "op": "upsert",
        "version": row.version,
        "data": data,
    }


def _delivery(
    row: SyncedModel, adapter: type[EntityAdapter] | None, data: dict[str, Any] | None
) -> Delivery | None:
    """The secrets `data` (a pulled row or conflict record) hands over, if any: a secret field
    with a value. Its version: the highest field version among the row's secret fields (they
    change as one unit), or the conflict record's own version."""
    if data is None:
        return None
    if isinstance(row, Conflict):
        entity = adapter_for(row.entity)
        secret = entity.secret_fields if entity is not None else frozenset()
        sides = (data.get("client_fields") or {}, data.get("server_fields") or {})
        if not any(side.get(name) is not None for side in sides for name in secret):
            return None
        return Delivery(row.entity, row.entity_id, row.version, conflict_id=row.id)
    if adapter is None or not any(data.get(name) is not None for name in adapter.secret_fields):
        return None
    return Delivery(adapter.entity, row.id, secret_version(adapter, row))


_RECORDED_SQL = (
    "SELECT p.entity, p.row_id, d.secret_version "
    "FROM unnest(%s::text[], %s::uuid[]) AS p(entity, row_id) "
    "CROSS JOIN LATERAL (SELECT secret_version FROM sync_secretdelivery "
    "WHERE workspace_id = %s AND entity = p.entity AND row_id = p.row_id "
    "AND user_id = %s AND client_id = %s OFFSET 0) AS d"
)


def _not_yet_recorded(
    workspace_id: uuid.UUID, user_id: Any, client_id: str, deliveries: list[Delivery]
) -> list[Delivery]:
    """The deliveries this device has not had yet, by one indexed read in the pull's snapshot:
    a page of rows whose secrets it already holds (a row changed beside its secrets, a
    re-pull) then costs no write and no second transaction. A delivery recorded meanwhile by a
    concurrent pull of the same device is dropped by the INSERT's ON CONFLICT."""
    # One index probe per row of the page (the unique key leads with workspace, entity, row,
    # user, client), so the cost follows the page, not everything the device received before.
    # OFFSET 0 keeps the planner from flattening the lateral subquery into a join that would
    # read all of the device's deliveries first.
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORDED_SQL,
            [
                [d.entity for d in deliveries],
                [str(d.row_id) for d in deliveries],
                str(workspace_id),
                str(user_id),
                client_id,
            ],
        )
        known = {(entity, row_id, version) for entity, row_id, version in cursor.fetchall()}
    return [d for d in deliveries if (d.entity, d.row_id, d.secret_version) not in known]


def secret_version(adapter: type[EntityAdapter], row: SyncedModel) -> int:
    """The version of a row's secrets: the highest field version among its secret fields
    (they merge as one unit), or the row's version for a row written without stamps."""
    stamp = max(row.field_version(name)[0] for name in adapter.secret_fields)
    return stamp or row.version


def _is_set(adapter: type[EntityAdapter], row: SyncedModel, name: str) -> bool:
    """Whether a field holds a value, without decrypting it."""
    column = f"{name}_encrypted" if name in adapter.encrypted else name
    return getattr(row, column) is not None


# --- conflicts and devices ----------------------------------------------------------------


CONFLICT_STATUSES = ("open", "resolved", "all")


def conflict_list(*, workspace: Any, status: str) -> models.QuerySet[Conflict]:
    """The workspace's conflict records the caller can see (row-level security hides those on
    other members' private rows)."""
    records = Conflict.objects.filter(workspace_id=workspace.pk)
    if status == "open":
        records = records.filter(status=ConflictStatus.OPEN)
    elif status == "resolved":
        records = records.filter(status=ConflictStatus.RESOLVED)
    return records


def device_list(*, workspace: Any, user: Any) -> models.QuerySet[SyncClient]:
    return SyncClient.objects.filter(workspace_id=workspace.pk, user_id=user.pk)


# --- who holds a secret -------------------------------------------------------------------

# How many REST deliveries (reveals, exports with secrets) `secret_holders` lists, newest first;
# the audit log has the rest.
HOLDERS_REST_LIMIT = 100


@dataclass
class HolderDevice:
    user_id: uuid.UUID
    client_id: str
    deliveries: list[SecretDelivery]
    client: SyncClient | None = None


@dataclass
class SecretHolders:
    entity: str
    row_id: uuid.UUID
    # The version of the secrets the row holds now (None: deleted, purged or no secret set).
    current_secret_version: int | None
    devices: list[HolderDevice]
    rest: list[Any]  # audit events: connection.secrets_revealed, data.exported with secrets
    users: dict[uuid.UUID, Any]  # user id -> User (accounts that still exist)
    roles: dict[uuid.UUID, str]  # user id -> role, for current members


def secret_holders(*, workspace: Any, entity: str, row_id: uuid.UUID) -> SecretHolders | None:
    """Everything known about where a row's secrets went: every device the delivery ledger
    names (registered or forgotten, member or removed) with the versions it received, and the
    REST deliveries from the audit log. None when the workspace has no such row and no record
    of one (the caller answers 404)."""
    adapter = adapter_for(entity)
    if adapter is None or not adapter.secret_fields:
        return None
    row = in_workspace(adapter.model, workspace.pk).filter(id=row_id).first()
    deliveries = list(
        SecretDelivery.objects.filter(
            workspace_id=workspace.pk, entity=entity, row_id=row_id
        ).order_by("first_delivered_at", "id")
    )
    if row is None and not deliveries:
        return None

    current: int | None = None
    if (
        row is not None
        and not row.deleted
        and any(_is_set(adapter, row, name) for name in adapter.secret_fields)
    ):
        current = secret_version(adapter, row)

    devices: dict[tuple[uuid.UUID, str], HolderDevice] = {}
    for delivery in deliveries:
        key = (delivery.user_id, delivery.client_id)
        holder = devices.get(key)
        if holder is None:
            holder = devices[key] = HolderDevice(delivery.user_id, delivery.client_id, [])
        holder.deliveries.append(delivery)
    if devices:
        clients = SyncClient.objects.filter(
            workspace_id=workspace.pk,
            user_id__in={user for user, _ in devices},
            client_id__in={client for _, client in devices},
        )
        for client in clients:
            found = devices.get((client.user_id, client.client_id))
            if found is not None:
                found.client = client

    revealed = audit_events(
        workspace=workspace, action=Action.SECRETS_REVEALED, target_type=entity
    ).filter(target_id=str(row_id))
    exported = audit_events(workspace=workspace, action=Action.EXPORTED).filter(
        metadata__secrets_included=True
    )
    if row is not None:
        exported = exported.filter(created_at__gte=row.created_at)
    rest = list((revealed | exported).order_by("-created_at", "-id")[:HOLDERS_REST_LIMIT])

    user_ids = {user for user, _ in devices} | {e.actor_id for e in rest if e.actor_id}
    users = {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
    roles = dict(
        Membership.objects.filter(workspace_id=workspace.pk, user_id__in=user_ids).values_list(
            "user_id", "role"
        )
    )
    return SecretHolders(
        entity=entity,
        row_id=row_id,
        current_secret_version=current,
        devices=sorted(
            devices.values(),
            key=lambda d: (d.deliveries[-1].first_delivered_at, d.client_id),
            reverse=True,
        ),
        rest=rest,
        users=users,
        roles=roles,
    )
