"""Key rotation over the stored data (docs/data.md, "Rotation runbook"):

* master key (KEK) rotation re-wraps every workspace's data keys under the primary master key;
  no value is touched;
* data key (DEK) rotation gives a workspace a new primary data key, then re-encrypts every
  encrypted column of every synced entity in short batches while the service runs;
* retiring a key is refused while anything still needs it.

Every step walks workspaces through the system operator context (row-level security would show
a job nothing else) and commits per workspace or per batch, so a run that stops half way is
resumed by running it again: keys already under the primary master key, and values already
under the primary data key, are skipped.

The encrypted columns are found through the entity registry (core.entities): every adapter's
`encrypted` fields, stored in `<field>_encrypted`. This module imports no feature app.

The commands (core/management/commands: rotate_master_key, retire_master_key, rotate_data_key,
retire_data_key) record what they did with `key_event`, through core.audit (the workspaces app
registers the audit log's writer there).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core import audit
from core.crypto.errors import DecryptionError
from core.crypto.fields import seal, unseal
from core.crypto.providers import get_master_key_provider
from core.crypto.store import (
    keyring,
    retire_data_key,
    rewrap_workspace_keys,
    rotate_workspace_key,
)
from core.crypto.values import ciphertext_key_version, from_text
from core.entities import EntityAdapter, adapters
from core.models import WorkspaceDataKey
from core.tenancy.system import system_context

REENCRYPT_BATCH = 500
OnWorkspace = Callable[[uuid.UUID, dict[str, Any]], None]

# Audit actions of the commands.
MASTER_KEY_ROTATED = "crypto.master_key_rotated"
DATA_KEYS_REWRAPPED = "crypto.data_keys_rewrapped"
DATA_KEY_ROTATED = "crypto.data_key_rotated"
DATA_KEY_RETIRED = "crypto.data_key_retired"
MASTER_KEY_RETIRED = "crypto.master_key_retired"


class KeyInUse(Exception):
    """Retiring this key now would make stored data unreadable. The message says why."""


def encrypted_columns() -> Iterator[tuple[type[EntityAdapter], list[str]]]:
    """(adapter, model columns) for every synced entity that stores encrypted fields."""
    for _name, adapter in sorted(adapters().items()):
        columns = [f"{name}_encrypted" for name in adapter.encrypted]
        if columns:
            yield adapter, columns


def _manager(adapter: type[EntityAdapter]) -> Any:
    return adapter.model._default_manager  # every synced model has a workspace


# --- master keys -----------------------------------------------------------------------------


def master_keys_in_use() -> dict[str, int]:
    """Master key id -> how many stored data keys (retired ones too) it wraps."""
    with system_context():
        ids = WorkspaceDataKey.objects.values_list("master_key_id", flat=True)
        return dict(Counter(ids))


@dataclass
class RewrapReport:
    primary: str
    workspaces: int = 0
    rewrapped: int = 0
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)


def rewrap_all_data_keys(*, on_workspace: OnWorkspace | None = None) -> RewrapReport:
    """Re-wrap every data key not yet under the primary master key, one transaction per
    workspace (`on_workspace(workspace_id, info)` runs inside it, e.g. to write an audit
    event). Idempotent and resumable."""
    provider = get_master_key_provider()
    report = RewrapReport(primary=provider.primary_id, before=master_keys_in_use())
    with system_context():
        pending = list(
            WorkspaceDataKey.objects.exclude(master_key_id=provider.primary_id)
            .values_list("workspace_id", flat=True)
            .distinct()
            .order_by("workspace_id")
        )
    for workspace_id in pending:
        with system_context(workspace_id=workspace_id):
            changed = rewrap_workspace_keys(workspace_id)
            if changed and on_workspace is not None:
                on_workspace(workspace_id, {"rewrapped": changed, "primary": provider.primary_id})
        report.workspaces += 1 if changed else 0
        report.rewrapped += changed
    report.after = master_keys_in_use()
    return report


def master_key_retire_blockers(kek_id: str) -> list[str]:
    """Why master key `kek_id` cannot be removed from ENCRYPTION_KEYS yet (empty: it can)."""
    provider = get_master_key_provider()
    return provider.retire_blockers(kek_id, master_keys_in_use())


def unavailable_master_keys() -> frozenset[str]:
    """Master key ids that stored data keys use but this process cannot unwrap (data loss if
    not fixed: the key was removed from ENCRYPTION_KEYS too early)."""
    return get_master_key_provider().unavailable_key_ids(master_keys_in_use())


# --- data keys -------------------------------------------------------------------------------


def workspaces_with_keys() -> list[uuid.UUID]:
    with system_context():
        return list(
            WorkspaceDataKey.objects.values_list("workspace_id", flat=True)
            .distinct()
            .order_by("workspace_id")
        )


def primary_version(workspace_id: uuid.UUID) -> int:
    with system_context(workspace_id=workspace_id):
        key = WorkspaceDataKey.objects.filter(workspace_id=workspace_id, is_primary=True).first()
    if key is None:
        raise KeyInUse("the workspace has no primary data key (deleted workspace?)")
    return key.version


def data_key_versions(workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    with system_context(workspace_id=workspace_id):
        return [
            {
                "version": key.version,
                "primary": key.is_primary,
                "master_key_id": key.master_key_id,
                "retired": key.retired_at is not None,
            }
            for key in WorkspaceDataKey.objects.filter(workspace_id=workspace_id).order_by(
                "version"
            )
        ]


def new_data_key(workspace_id: uuid.UUID) -> int:
    """Make a new primary data key version for the workspace; returns its version. Older
    versions keep decrypting until retired."""
    with system_context(workspace_id=workspace_id):
        return rotate_workspace_key(workspace_id).version


@dataclass
class ReencryptReport:
    workspace_id: uuid.UUID
    primary: int
    reencrypted: int = 0
    already_current: int = 0
    batches: int = 0
    remaining: dict[int, int] = field(default_factory=dict)


def reencrypt_workspace(
    workspace_id: uuid.UUID,
    *,
    batch_size: int = REENCRYPT_BATCH,
    on_batch: Callable[[ReencryptReport], None] | None = None,
) -> ReencryptReport:
    """Move every encrypted value of the workspace onto its primary data key.

    Rows are walked by primary key in batches; each batch is one short transaction that locks
    its rows (a concurrent edit waits for it, or wins before it), re-encrypts values on older
    versions and writes them back with the same row version (`app.maintenance = reencrypt` lets
    `core_sync_guard` accept that: the content did not change). Values already on the primary
    are skipped, so an interrupted run is resumed by running it again.
    """
    primary = primary_version(workspace_id)
    keyring().invalidate(workspace_id)  # encrypt with the primary the database has now
    report = ReencryptReport(workspace_id=workspace_id, primary=primary)
    for adapter, columns in encrypted_columns():
        last = 0
        while True:
            with system_context(workspace_id=workspace_id):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('app.maintenance', 'reencrypt', true)")
                rows = list(
                    _manager(adapter)
                    .filter(workspace_id=workspace_id, row_id__gt=last)
                    .order_by("row_id")
                    .select_for_update()[:batch_size]
                )
                if not rows:
                    break
                changed = []
                for row in rows:
                    dirty = False
                    for column in columns:
                        token = getattr(row, column)
                        if token is None:
                            continue
                        if ciphertext_key_version(from_text(token)) == primary:
                            report.already_current += 1
                            continue
                        seal(row, column, unseal(row, column))
                        report.reencrypted += 1
                        dirty = True
                    if dirty:
                        changed.append(row)
                if changed:
                    _manager(adapter).bulk_update(changed, columns)
                last = rows[-1].row_id
            report.batches += 1
            if on_batch is not None:
                on_batch(report)
    report.remaining = {
        version: count
        for version, count in values_by_key_version(workspace_id).items()
        if version != primary
    }
    return report


def values_by_key_version(workspace_id: uuid.UUID) -> dict[int, int]:
    """How many stored values each data key version encrypted (read from the ciphertext
    headers; nothing is decrypted)."""
    counts: Counter[int] = Counter()
    for adapter, columns in encrypted_columns():
        with system_context(workspace_id=workspace_id):
            for values in (
                _manager(adapter)
                .filter(workspace_id=workspace_id)
                .values_list(*columns)
                .iterator(chunk_size=2000)
            ):
                for token in values:
                    if token is None:
                        continue
                    try:
                        counts[ciphertext_key_version(from_text(token))] += 1
                    except DecryptionError:
                        counts[-1] += 1  # malformed: counted, never treated as free
    return dict(counts)


def retire_workspace_data_key(workspace_id: uuid.UUID, version: int) -> None:
    """Retire data key `version` of the workspace; refused (KeyInUse) while it is the primary
    or any stored value still uses it."""
    versions = {v["version"]: v for v in data_key_versions(workspace_id)}
    info = versions.get(version)
    if info is None:
        raise KeyInUse(f"the workspace has no data key version {version}")
    if info["retired"]:
        return
    if info["primary"]:
        raise KeyInUse(f"data key version {version} is the primary; rotate first")
    # Other processes may encrypt with the previous primary until their key cache expires.
    ttl = float(getattr(settings, "ENCRYPTION_KEY_CACHE_TTL_SECONDS", 0) or 0)
    with system_context(workspace_id=workspace_id):
        newest = (
            WorkspaceDataKey.objects.filter(workspace_id=workspace_id, version__gt=version)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
    if newest is not None and timezone.now() - newest < timedelta(seconds=ttl):
        raise KeyInUse(
            f"version {version} was replaced less than ENCRYPTION_KEY_CACHE_TTL_SECONDS "
            f"({ttl:g}s) ago; processes with a cached key set may still encrypt with it. "
            "Wait, run rotate_data_key --resume, then retire"
        )
    in_use = values_by_key_version(workspace_id)
    if in_use.get(version):
        raise KeyInUse(
            f"{in_use[version]} stored values still use data key version {version}; "
            "run rotate_data_key --resume first"
        )
    if in_use.get(-1):
        raise KeyInUse(f"{in_use[-1]} stored values are unreadable; investigate before retiring")
    with system_context(workspace_id=workspace_id):
        retire_data_key(workspace_id, version)


# --- audit events ----------------------------------------------------------------------------


def key_event(
    action: str, *, workspace_id: uuid.UUID | None, command: str, metadata: dict[str, Any]
) -> None:
    """Append an audit event of a key command (inside the caller's transaction, bound to the
    system operator, so it commits with the change it records). Commands have no request and
    no user: the actor is empty and the metadata says which command ran. Key ids and versions
    only."""
    audit.record(
        action=action,
        workspace_id=workspace_id,
        target_type="encryption_key",
        target_id=str(metadata.get("version") or metadata.get("primary") or ""),
        metadata={"command": command, **metadata},
    )
