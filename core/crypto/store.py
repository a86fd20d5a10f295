"""Where the workspaces' data keys live (core.WorkspaceDataKey) and the process keyring.

    keyring().encrypt_text(plaintext, Aad(workspace_id, "connections.connection", "password", id))

Every workspace gets data key version 1 when it is created (`create_workspace_key`); deleting
the workspace deletes its keys (`shred_workspace_keys`) so its ciphertext can never be read
again, backups included once they age out. Unwrapped keys are cached in process memory only.
"""

from __future__ import annotations

import threading
import uuid

from django.db import connection
from django.utils import timezone

from core.crypto.aad import Id
from core.crypto.cache import DataKeyCache
from core.crypto.data_keys import WrappedKeyset, new_wrapped_data_key, rewrap_data_key
from core.crypto.errors import CryptoError
from core.crypto.keyring import Keyring
from core.crypto.providers import WrappedKey, get_master_key_provider
from core.models import WorkspaceDataKey

_lock = threading.Lock()
_keyring: Keyring | None = None


def _load_wrapped(workspace_id: Id) -> WrappedKeyset:
    rows = list(
        WorkspaceDataKey.objects.filter(workspace_id=str(workspace_id), retired_at__isnull=True)
    )
    primary = next((r.version for r in rows if r.is_primary), None)
    if primary is None:
        raise CryptoError("workspace has no data key")
    return WrappedKeyset(
        workspace_id=workspace_id,
        primary_version=primary,
        keys={r.version: WrappedKey(r.master_key_id, bytes(r.wrapped)) for r in rows},
    )


def keyring() -> Keyring:
    """The process-wide keyring (built on first use)."""
    global _keyring
    if _keyring is None:
        with _lock:
            if _keyring is None:
                _keyring = Keyring(
                    provider=get_master_key_provider(),
                    load_wrapped=_load_wrapped,
                    cache=DataKeyCache.from_settings(),
                )
    return _keyring


def reset_keyring() -> None:
    """Forget the keyring (tests that change keys or settings)."""
    global _keyring
    with _lock:
        _keyring = None
    get_master_key_provider.cache_clear()


def create_workspace_key(workspace_id: uuid.UUID) -> WorkspaceDataKey:
    """Data key version 1 for a new workspace (inside the workspace's bound transaction)."""
    wrapped = new_wrapped_data_key(get_master_key_provider(), workspace_id=workspace_id, version=1)
    return WorkspaceDataKey.objects.create(
        workspace_id=workspace_id,
        version=1,
        master_key_id=wrapped.kek_id,
        wrapped=wrapped.blob,
        is_primary=True,
    )


def rotate_workspace_key(workspace_id: uuid.UUID) -> WorkspaceDataKey:
    """Add a new primary data key version; older versions keep decrypting until retired."""
    current = (
        WorkspaceDataKey.objects.select_for_update()
        .filter(workspace_id=workspace_id)
        .order_by("-version")
    )
    latest = current.first()
    version = (latest.version if latest else 0) + 1
    wrapped = new_wrapped_data_key(
        get_master_key_provider(), workspace_id=workspace_id, version=version
    )
    WorkspaceDataKey.objects.filter(workspace_id=workspace_id, is_primary=True).update(
        is_primary=False
    )
    key = WorkspaceDataKey.objects.create(
        workspace_id=workspace_id,
        version=version,
        master_key_id=wrapped.kek_id,
        wrapped=wrapped.blob,
        is_primary=True,
    )
    # Other processes see the new primary when their cache entry expires (TTL) or when they
    # meet a value made with it (Keyring.decrypt reloads on an unknown newer version).
    keyring().invalidate(workspace_id)
    connection.on_commit(lambda: keyring().invalidate(workspace_id))
    return key


def rewrap_workspace_keys(workspace_id: uuid.UUID) -> int:
    """Re-wrap this workspace's data keys under the primary master key. Idempotent: keys already
    under the primary are left alone. Returns how many were re-wrapped."""
    provider = get_master_key_provider()
    changed = 0
    for key in WorkspaceDataKey.objects.select_for_update().filter(workspace_id=workspace_id):
        if key.master_key_id == provider.primary_id:
            continue
        wrapped = rewrap_data_key(
            provider,
            workspace_id=workspace_id,
            version=key.version,
            wrapped=WrappedKey(key.master_key_id, bytes(key.wrapped)),
        )
        key.master_key_id = wrapped.kek_id
        key.wrapped = wrapped.blob
        key.save(update_fields=["master_key_id", "wrapped"])
        changed += 1
    keyring().invalidate(workspace_id)
    return changed


def retire_data_key(workspace_id: uuid.UUID, version: int) -> None:
    """Stop keeping data key `version` (after re-encryption moved every value off it)."""
    WorkspaceDataKey.objects.filter(
        workspace_id=workspace_id, version=version, is_primary=False
    ).update(retired_at=timezone.now())
    keyring().invalidate(workspace_id)


def shred_workspace_keys(workspace_id: uuid.UUID) -> int:
    """Crypto-shredding: delete every data key of the workspace."""
    deleted, _ = WorkspaceDataKey.objects.filter(workspace_id=workspace_id).delete()
    keyring().invalidate(workspace_id)
    connection.on_commit(lambda: keyring().invalidate(workspace_id))
    return deleted
