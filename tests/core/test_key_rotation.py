"""Key rotation commands: master key rotation re-wraps data keys without touching values, data
key rotation re-encrypts every encrypted column in batches with row versions unchanged, both
while the API keeps answering (a reader thread and a writer thread run throughout), retiring a
key that is still needed is refused, and a deleted workspace's ciphertext cannot be decrypted.
Charlie, the outsider, never sees Alice's data during any of it."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from connections.models import Connection
from core import key_rotation
from core.crypto import Aad, CryptoError, DecryptionError
from core.crypto.master_keys import DEV_KEY_ID, MasterKeys, dev_master_keys
from core.crypto.store import keyring, reset_keyring
from core.models import WorkspaceDataKey
from core.tenancy import db_context
from core.tenancy.system import system_context
from queries.models import QueryHistory, SavedQuery
from tests.connections.helpers import canary
from tests.factories import UserFactory, add_member, make_workspace
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class World:
    """A workspace full of encrypted data (Alice owns, Bob is a member, Vera a viewer) and
    Charlie's workspace next to it."""

    def __init__(self) -> None:
        self.alice = UserFactory()
        self.bob = UserFactory()
        self.vera = UserFactory()
        self.charlie = UserFactory()
        self.workspace = make_workspace(self.alice, "Acme", plan="team", seats=5)
        add_member(self.workspace, self.bob, "member")
        add_member(self.workspace, self.vera, "viewer")
        self.other = make_workspace(self.charlie, "Charlie's")
        self.base = f"/api/v1/workspaces/{self.workspace.pk}/"
        self.sql: dict[str, str] = {}
        self.passwords: dict[str, str] = {}
        bob = _client(self.bob)
        for i in range(4):
            password = canary(f"pw{i}")
            created = bob.post(
                self.base + "connections/",
                {
                    "name": f"db{i}",
                    "engine": "postgres",
                    "password": password,
                    "ssh_passphrase": "x",
                },
                format="json",
            )
            assert created.status_code == 201, created.content
            self.passwords[created.json()["id"]] = password
        for i in range(30):
            sql = f"select {i}, '{canary()}'"
            created = bob.post(
                self.base + "saved-queries/", {"name": f"q{i:02}", "sql": sql}, format="json"
            )
            assert created.status_code == 201
            self.sql[created.json()["id"]] = sql
        for user in (self.alice, self.bob):
            for i in range(5):
                _client(user).post(
                    self.base + "history/",
                    {"sql": f"select {i}", "success": False, "error": "boom"},
                    format="json",
                )
        _client(self.charlie).post(
            f"/api/v1/workspaces/{self.other.pk}/saved-queries/",
            {"name": "charlie's", "sql": "select 'charlie'"},
            format="json",
        )

    def versions(self) -> dict[str, int]:
        with db_context(workspace_id=self.workspace.pk, user_id=self.alice.pk):
            rows = {str(r.id): r.version for r in SavedQuery.objects.all()}
            rows.update({str(r.id): r.version for r in Connection.objects.all()})
            return rows

    def check_reads(self) -> None:
        """What every reader must see at any moment (raises AssertionError otherwise)."""
        viewer = _client(self.vera).get(self.base + "saved-queries/?limit=500")
        assert viewer.status_code == 200, viewer.content
        seen = {q["id"]: q["sql"] for q in viewer.json()["results"]}
        for saved_id, sql in self.sql.items():
            if saved_id in seen and not seen[saved_id].startswith("updated"):
                assert seen[saved_id] == sql
        connection_id, password = next(iter(self.passwords.items()))
        revealed = _client(self.bob).post(self.base + f"connections/{connection_id}/reveal")
        assert revealed.status_code == 200, revealed.content
        assert revealed.json()["password"] == password
        history = _client(self.bob).get(self.base + "history/")
        assert history.status_code == 200
        assert {h["error"] for h in history.json()["results"]} == {"boom"}
        outsider = _client(self.charlie).get(self.base + "saved-queries/")
        assert outsider.status_code == 404


@pytest.fixture
def world() -> World:
    return World()


class Background:
    """Runs `step` in a loop on another thread (with its own database connection) until
    stopped; collects failures."""

    def __init__(self, step: Callable[[int], None]) -> None:
        self.step = step
        self.runs = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.step(self.runs)
                except Exception as error:  # collected, asserted on the main thread
                    self.failures.append(f"{type(error).__name__}: {error}")
                self.runs += 1
        finally:
            connection.close()

    def __enter__(self) -> Background:
        self._thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture
def keys_restored() -> Iterator[None]:
    original = settings.ENCRYPTION_KEYS
    ttl = settings.ENCRYPTION_KEY_CACHE_TTL_SECONDS
    yield
    settings.ENCRYPTION_KEYS = original
    settings.ENCRYPTION_KEY_CACHE_TTL_SECONDS = ttl
    reset_keyring()


def _audit(action: str) -> list[AuditEvent]:
    with system_context():
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_data_key_rotation_round_trips_while_the_api_answers(
    world: World, keys_restored: None
) -> None:
    before = world.versions()
    assert key_rotation.values_by_key_version(world.workspace.pk) == {1: 4 * 2 + 30 + 10 * 2}
    edited = next(iter(world.sql))
    last_written: dict[str, str] = {}

    def write(n: int) -> None:
        sql = f"updated {n}"
        response = _client(world.bob).patch(
            world.base + f"saved-queries/{edited}", {"sql": sql}, format="json"
        )
        assert response.status_code == 200, response.content
        last_written["sql"] = sql
        time.sleep(0.01)

    with Background(lambda n: world.check_reads()) as reader, Background(write) as writer:
        output = _run("rotate_data_key", f"--workspace={world.workspace.pk}", "--batch-size=4")
    assert reader.failures == []
    assert writer.failures == []
    assert reader.runs > 0
    assert writer.runs > 0
    assert "primary data key v2" in output

    counts = key_rotation.values_by_key_version(world.workspace.pk)
    assert set(counts) == {2}
    # Versions unchanged: re-encryption is not a change (only the edited row moved on).
    after = world.versions()
    assert {k: v for k, v in after.items() if k != edited} == {
        k: v for k, v in before.items() if k != edited
    }
    # The concurrent edit was not lost to the re-encryption.
    read = _client(world.vera).get(world.base + f"saved-queries/{edited}")
    assert read.json()["sql"] == last_written["sql"]
    world.check_reads()
    # Charlie's workspace was not touched.
    assert set(key_rotation.values_by_key_version(world.other.pk)) == {1}
    events = _audit("crypto.data_key_rotated")
    assert [e.workspace_id for e in events] == [world.workspace.pk]
    assert events[0].metadata["version"] == 2

    # Resuming finds nothing left; retiring v1 needs the key cache TTL to have passed.
    assert "re-encrypted 0 values" in _run(
        "rotate_data_key", f"--workspace={world.workspace.pk}", "--resume"
    )
    with pytest.raises(CommandError, match="ENCRYPTION_KEY_CACHE_TTL_SECONDS"):
        _run("retire_data_key", f"--workspace={world.workspace.pk}", "--version=1")
    settings.ENCRYPTION_KEY_CACHE_TTL_SECONDS = 0
    _run("retire_data_key", f"--workspace={world.workspace.pk}", "--version=1")
    reset_keyring()  # a new process
    world.check_reads()
    assert [k["retired"] for k in key_rotation.data_key_versions(world.workspace.pk)] == [
        True,
        False,
    ]


def test_rotate_all_workspaces_and_resume_is_idempotent(world: World, keys_restored: None) -> None:
    output = _run("rotate_data_key", "--all")
    assert str(world.workspace.pk) in output
    assert str(world.other.pk) in output
    assert set(key_rotation.values_by_key_version(world.workspace.pk)) == {2}
    assert set(key_rotation.values_by_key_version(world.other.pk)) == {2}
    again = _run("rotate_data_key", "--all", "--resume")
    assert again.count("re-encrypted 0 values") == 2
    world.check_reads()


def test_retiring_a_data_key_in_use_is_refused(world: World, keys_restored: None) -> None:
    settings.ENCRYPTION_KEY_CACHE_TTL_SECONDS = 0
    ws = world.workspace.pk
    with pytest.raises(CommandError, match="is the primary"):
        _run("retire_data_key", f"--workspace={ws}", "--version=1")
    with pytest.raises(CommandError, match="no data key version 7"):
        _run("retire_data_key", f"--workspace={ws}", "--version=7")
    # A backup-style copy of one ciphertext under v1, taken before the rotation.
    with db_context(workspace_id=ws, user_id=world.alice.pk):
        row = SavedQuery.objects.order_by("row_id").first()
        assert row is not None
        old_token, aad = row.sql_encrypted, Aad(ws, "queries.savedquery", "sql", row.id)
    assert key_rotation.new_data_key(ws) == 2
    with pytest.raises(CommandError, match="stored values still use data key version 1"):
        _run("retire_data_key", f"--workspace={ws}", "--version=1")
    with pytest.raises(CommandError, match="is the primary"):
        _run("retire_data_key", f"--workspace={ws}", "--version=2")
    world.check_reads()  # both versions decrypt meanwhile
    key_rotation.reencrypt_workspace(ws, batch_size=1000)
    _run("retire_data_key", f"--workspace={ws}", "--version=1")
    assert _audit("crypto.data_key_retired")[0].metadata["version"] == 1
    # The retired key is gone for good: the old copy no longer decrypts, in any process.
    reset_keyring()
    with db_context(workspace_id=ws, user_id=world.alice.pk), pytest.raises(DecryptionError):
        keyring().decrypt_text(old_token, aad)
    world.check_reads()


def test_master_key_rotation_round_trips_while_the_api_answers(
    world: World, keys_restored: None
) -> None:
    dev = dev_master_keys()
    dev_key = dev.get(DEV_KEY_ID)
    assert dev_key is not None
    new_key = uuid.uuid4().bytes + uuid.uuid4().bytes
    # Step 1 of the runbook: the new key is added and made primary; the old one still unwraps.
    settings.ENCRYPTION_KEYS = MasterKeys({DEV_KEY_ID: dev_key, "k2": new_key}, "k2")
    reset_keyring()
    assert key_rotation.master_keys_in_use() == {DEV_KEY_ID: 2}
    with pytest.raises(CommandError, match="still wrapped under"):
        _run("retire_master_key", DEV_KEY_ID)
    with Background(lambda n: world.check_reads()) as reader:
        output = _run("rotate_master_key")
    assert reader.failures == []
    assert reader.runs > 0
    assert "re-wrapped 2 data keys of 2 workspaces under 'k2'" in output
    assert key_rotation.master_keys_in_use() == {"k2": 2}
    assert "re-wrapped 0 data keys" in _run("rotate_master_key")  # idempotent
    # Only the wrapping changed: every value is byte-for-byte the same.
    with pytest.raises(CommandError, match="primary master key"):
        _run("retire_master_key", "k2")
    _run("retire_master_key", DEV_KEY_ID)
    assert len(_audit("crypto.master_key_rotated")) == 2
    assert {str(e.workspace_id) for e in _audit("crypto.data_keys_rewrapped")} == {
        str(world.workspace.pk),
        str(world.other.pk),
    }
    assert _audit("crypto.master_key_retired")[0].metadata["primary"] == DEV_KEY_ID
    # Step 5: the old key is removed from the environment; everything still reads.
    settings.ENCRYPTION_KEYS = MasterKeys({"k2": new_key}, "k2")
    reset_keyring()
    world.check_reads()
    assert "data keys per master key: k2=2" in _run("rotate_master_key", "--check")


def test_rotate_master_key_refuses_when_a_used_key_is_missing(
    world: World, keys_restored: None
) -> None:
    settings.ENCRYPTION_KEYS = MasterKeys({"k9": uuid.uuid4().bytes * 2}, "k9")
    reset_keyring()
    with pytest.raises(CommandError, match=DEV_KEY_ID):
        _run("rotate_master_key")


def test_deleted_workspace_data_cannot_be_decrypted(world: World, keys_restored: None) -> None:
    from workspaces import services
    from workspaces.models import Membership

    ws = world.workspace.pk
    with db_context(workspace_id=ws, user_id=world.alice.pk):
        row = Connection.objects.exclude(password_encrypted=None).first()
        assert row is not None
        token = row.password_encrypted
        aad = Aad(ws, "connections.connection", "password", row.id)
        assert keyring().decrypt_text(token, aad) in world.passwords.values()
        history = QueryHistory.objects.filter(author=world.alice).first()
        assert history is not None
        history_token = history.sql_encrypted
        history_aad = Aad(ws, "queries.queryhistory", "sql", history.id)
        membership = Membership.objects.select_related("workspace", "user").get(
            workspace_id=ws, user=world.alice
        )
        services.workspace_delete(membership=membership)
    with system_context():
        assert not WorkspaceDataKey.objects.filter(workspace_id=ws).exists()
    for fresh_process in (False, True):
        if fresh_process:
            reset_keyring()
        with system_context(), pytest.raises(CryptoError):
            keyring().decrypt_text(token, aad)
        with system_context(), pytest.raises(CryptoError):
            keyring().decrypt_text(history_token, history_aad)
    # Charlie's workspace is unaffected.
    listed = _client(world.charlie).get(f"/api/v1/workspaces/{world.other.pk}/saved-queries/")
    assert listed.json()["results"][0]["sql"] == "select 'charlie'"
