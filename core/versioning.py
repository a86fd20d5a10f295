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

`reserve` also arranges a *poke* for the sync `events` stream: once the transaction commits
(never before, never for a rollback) one message per workspace goes out on Redis pub/sub with
the highest version reserved. A writer of rows private to one member passes
`private_to=user_id`, so only that member is poked; a writer that knows better row by row
(sync push) passes `poke=False` and calls `note_change` for each row it writes.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

SERVER_WRITER = "server"

logger = logging.getLogger(__name__)


# --- pokes: "workspace W changed up to version N", published after commit -------------------


def poke_channel(workspace_id: uuid.UUID | str) -> str:
    """The Redis pub/sub channel of a workspace's pokes (read by sync's events stream)."""
    return f"{settings.REDIS_KEY_PREFIX}sync:poke:{workspace_id}"


@dataclass
class _PendingPoke:
    workspace_id: str
    public_version: int = 0  # highest version visible to every member (0: none)
    private_versions: dict[str, int] = dataclass_field(default_factory=dict)  # user id -> version
    sent: bool = False

    def messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.public_version:
            out.append({"version": self.public_version, "users": None})
        for user_id, version in sorted(self.private_versions.items()):
            if version > self.public_version:
                out.append({"version": version, "users": [user_id]})
        return out


_redis_client: Any = None


def _redis() -> Any:
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
    return _redis_client


def _publish(pending: _PendingPoke) -> None:
    if pending.sent:  # one message per transaction, however many callbacks were registered
        return
    pending.sent = True
    try:
        client = _redis()
        for message in pending.messages():
            client.publish(poke_channel(pending.workspace_id), json.dumps(message))
    except Exception:  # a poke is only a hint: clients also pull on their own schedule
        logger.warning("sync poke for %s not published", pending.workspace_id, exc_info=True)


def note_change(
    workspace_id: uuid.UUID | str, version: int, *, private_to: uuid.UUID | str | None = None
) -> None:
    """Poke the workspace's members (or only `private_to`) about `version` once the current
    transaction commits. Cheap: aggregated per transaction and workspace in memory."""
    txid = _current_txid()
    pokes: dict[tuple[int, str], _PendingPoke] = connection.__dict__.setdefault(
        "_sync_pending_pokes", {}
    )
    key = (txid, str(workspace_id))
    pending = pokes.get(key)
    if pending is None or pending.sent:
        # Entries of finished transactions are dead: keep only this transaction's.
        for stale in [k for k in pokes if k[0] != txid]:
            del pokes[stale]
        pending = pokes[key] = _PendingPoke(str(workspace_id))
    if private_to is None:
        pending.public_version = max(pending.public_version, version)
    else:
        user = str(private_to)
        pending.private_versions[user] = max(pending.private_versions.get(user, 0), version)
    # Registered on every call: a callback registered inside a savepoint that later rolls back
    # is dropped, the others still run; `sent` makes the first one that runs the only one.
    transaction.on_commit(lambda: _publish(pending))


def _current_txid() -> int:
    txid = connection.__dict__.get("_sync_txid")
    marker = connection.__dict__.get("_sync_txid_marker")
    # The txid is fetched by reserve(); between reserves of one transaction it is unchanged.
    if txid is None or marker is not connection.connection:
        return -1
    return int(txid)


class VersionClock:
    """Versions reserved for the current transaction in one workspace."""

    def __init__(self, workspace_id: uuid.UUID | str, first: int, count: int) -> None:
        self.workspace_id = workspace_id
        self._next = first
        self.last = first + count - 1

    @classmethod
    def reserve(
        cls,
        workspace_id: uuid.UUID | str,
        count: int = 1,
        *,
        private_to: uuid.UUID | str | None = None,
        poke: bool = True,
    ) -> VersionClock:
        """Reserve `count` consecutive versions for this transaction, locking the workspace's
        clock row until it ends. Unless `poke` is off, the workspace's members (only
        `private_to` when given) are poked with the last version after commit."""
        if connection.get_autocommit():
            raise RuntimeError("versions must be reserved inside a transaction")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT core_reserve_versions(%s, %s), pg_current_xact_id()::text",
                [str(workspace_id), count],
            )
            row = cursor.fetchone()
        if row is None:
            raise RuntimeError("core_reserve_versions returned nothing")
        first, txid = row
        connection.__dict__["_sync_txid"] = int(txid)
        connection.__dict__["_sync_txid_marker"] = connection.connection
        clock = cls(workspace_id, int(first), count)
        if poke:
            note_change(workspace_id, clock.last, private_to=private_to)
        return clock

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
    # Each concrete model declares `workspace`, a ForeignKey to workspaces.Workspace (which core
    # does not import): its column, typed here for the code that handles any synced row.
    workspace_id: uuid.UUID

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
