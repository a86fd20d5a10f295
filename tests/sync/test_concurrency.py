"""Real transactions on real threads: the held-open push, concurrent retries, 503."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection, connections

from core.tenancy import db_context
from queries.models import SavedQuery
from sync.models import SyncClient
from sync.services.push import _Push
from tests.conftest import app_database_url
from tests.sync.conftest import Device, device, new_id
from tests.workspaces.conftest import Team

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def _wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def test_a_push_committing_late_is_never_skipped(team: Team, monkeypatch: Any) -> None:
    """Guarantee 1. Push A reserves its version and holds its transaction open; push B starts
    later and waits for A's clock lock; a pull meanwhile sees nothing past the version before
    A. After both commit, pulling on from that cursor returns both A's and B's rows."""
    a, b, reader = device(team, "owner"), device(team, "member"), device(team, "admin")
    base_row = new_id()
    a.push(a.mutation("saved_query", base_row, {"name": "before"}))
    start = reader.pull_all()
    assert [c["id"] for c in start] == [base_row]
    cursor = reader.cursor

    reserved, release = threading.Event(), threading.Event()
    original = _Push._prefetch

    def held(self: _Push, mutations: Any) -> None:
        original(self, mutations)
        if self.client_id == a.client_id:
            reserved.set()
            release.wait(20)

    monkeypatch.setattr(_Push, "_prefetch", held)
    row_a, row_b = new_id(), new_id()
    thread_a, box_a = _in_thread(lambda: a.push(a.mutation("saved_query", row_a, {"name": "A"})))
    assert reserved.wait(10)
    thread_b, box_b = _in_thread(lambda: b.push(b.mutation("saved_query", row_b, {"name": "B"})))
    _wait_until(lambda: _waiting_on_locks() >= 1)  # B waits for A's clock row

    during = reader.pull_page(cursor)
    assert during["changes"] == []
    assert during["has_more"] is False
    reader.cursor = during["cursor"]

    release.set()
    thread_a.join(20)
    thread_b.join(20)
    assert "error" not in box_a, box_a
    assert "error" not in box_b, box_b
    version_a = box_a["result"]["results"][0]["version"]
    version_b = box_b["result"]["results"][0]["version"]
    assert version_a < version_b
    after = reader.pull_all()
    assert [c["id"] for c in after] == [row_a, row_b]


def test_concurrent_retries_of_one_push_apply_once(team: Team) -> None:
    """Guarantee 2 under a race: the original and its retry arrive at once."""
    alice = device(team, "owner")
    mutations = [alice.mutation("saved_query", new_id(), {"name": f"q{i}"}) for i in range(20)]
    twin = Device(team.client("owner"), team.workspace, client_id=alice.client_id)
    threads = [_in_thread(lambda d=d: d.push(*mutations)) for d in (alice, twin)]
    for thread, _ in threads:
        thread.join(30)
    outcomes = [box["result"] for _, box in threads]
    statuses = sorted({r["status"] for o in outcomes for r in o["results"]})
    assert statuses == ["applied", "duplicate"]
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert SavedQuery.objects.count() == 20


def test_concurrent_pushes_from_many_devices(team: Team) -> None:
    devices = [device(team, role) for role in ("owner", "admin", "member", "owner", "member")]

    def work(dev: Device) -> list[dict[str, Any]]:
        out = []
        for _ in range(3):
            out.append(
                dev.push(*[dev.mutation("saved_query", new_id(), {"name": "q"}) for _ in range(10)])
            )
        return out

    threads = [_in_thread(lambda d=d: work(d)) for d in devices]
    for thread, _ in threads:
        thread.join(60)
    versions = []
    for _, box in threads:
        assert "error" not in box, box
        versions += [r["version"] for o in box["result"] for r in o["results"]]
    assert len(versions) == len(set(versions)) == 150
    reader = device(team, "viewer")
    assert len(reader.pull_all()) == 150


def test_transient_failure_answers_503_and_counts_nothing(team: Team, settings: Any) -> None:
    settings.SYNC_LOCK_TIMEOUT_MS = 100
    settings.SYNC_PUSH_ATTEMPTS = 2
    alice = device(team, "owner")
    alice.push(alice.mutation("saved_query", new_id(), {"name": "first"}))
    mutation = alice.mutation("saved_query", new_id(), {"name": "second"})
    with psycopg.connect(app_database_url()) as holder:
        holder.execute("SELECT set_config('app.workspace_id', %s, false)", [str(team.workspace.pk)])
        holder.execute(
            "SELECT 1 FROM core_workspaceclock WHERE workspace_id = %s FOR UPDATE",
            [team.workspace.pk],
        )
        response = alice.http.post(
            f"/api/v1/workspaces/{team.workspace.pk}/sync/push",
            {"client_id": alice.client_id, "mutations": [mutation]},
            format="json",
            HTTP_X_SYNC_PROTOCOL="1",
        )
        assert response.status_code == 503
        assert response["Retry-After"]
        assert response.json()["error"]["code"] == "service_unavailable"
        holder.rollback()
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert SyncClient.objects.get(client_id=alice.client_id).last_mutation_id == 1
    out = alice.push(mutation)
    assert out["results"][0]["status"] == "applied"
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert SavedQuery.objects.filter(name="second").count() == 1
