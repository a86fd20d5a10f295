"""One versioning path: the clock orders writers, and the database refuses writes that skip it."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection

from connections.models import Connection
from core.models import WorkspaceClock
from core.tenancy import db_context
from core.versioning import VersionClock
from tests.conftest import app_database_url
from tests.factories import UserFactory, make_workspace


@pytest.fixture
def workspace(db: None) -> Any:
    owner = UserFactory()
    workspace = make_workspace(owner, "Versioned")
    workspace.owner = owner
    return workspace


def _new_connection(workspace: Any, version: int, **fields: Any) -> Connection:
    return Connection(
        workspace=workspace,
        id=uuid.uuid4(),
        name="db",
        engine="postgres",
        version=version,
        **fields,
    )


def test_reserved_versions_are_consecutive_and_grow(workspace: Any) -> None:
    with db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk):
        first = VersionClock.reserve(workspace.pk, count=3)
        assert [first.next(), first.next(), first.next()] == [1, 2, 3]
        with pytest.raises(RuntimeError):
            first.next()
        second = VersionClock.reserve(workspace.pk, count=2)
        assert second.next() == 4
    with db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk):
        assert WorkspaceClock.objects.get(workspace_id=workspace.pk).version == 5


def test_write_through_the_clock_is_accepted(workspace: Any) -> None:
    with db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk):
        clock = VersionClock.reserve(workspace.pk, count=2)
        row = _new_connection(workspace, clock.next())
        row.save()
        row.name = "renamed"
        row.touch_fields(["name"], version=clock.next(), writer="server")
        row.save()
        assert Connection.objects.get(pk=row.pk).version == 2


def test_write_that_skipped_the_clock_is_refused(workspace: Any) -> None:
    with (
        pytest.raises(DatabaseError, match="skipped the sync versioning path"),
        db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk),
    ):
        _new_connection(workspace, 1).save()


@pytest.mark.django_db(transaction=True)
def test_version_reserved_by_another_transaction_is_refused(workspace: Any) -> None:
    with db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk):
        VersionClock.reserve(workspace.pk, count=1)
    with (
        pytest.raises(DatabaseError, match="skipped"),
        db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk),
    ):
        _new_connection(workspace, 1).save()  # version 1 belonged to the earlier transaction


def test_update_must_advance_the_version(workspace: Any) -> None:
    with db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk):
        clock = VersionClock.reserve(workspace.pk, count=1)
        row = _new_connection(workspace, clock.next())
        row.save()

    def sneaky_update() -> None:
        with db_context(workspace_id=workspace.pk, user_id=workspace.owner.pk):
            VersionClock.reserve(workspace.pk, count=1)
            Connection.objects.filter(pk=row.pk).update(name="sneaky")  # version unchanged

    with pytest.raises(DatabaseError, match="did not advance"):
        sneaky_update()


@pytest.mark.django_db(transaction=True)
def test_reserve_outside_a_transaction_is_refused(workspace: Any) -> None:
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside a transaction"):
        VersionClock.reserve(workspace.pk)


@pytest.mark.django_db(transaction=True)
def test_writers_of_one_workspace_commit_in_version_order() -> None:
    """Writer A reserves a version and stays open; writer B blocks on the clock until A
    commits, so B's version is larger and commits later: versions appear in commit order."""
    owner = UserFactory()
    workspace = make_workspace(owner, "Ordered")
    url = app_database_url()
    a_reserved = threading.Event()
    release_a = threading.Event()
    versions: dict[str, int] = {}
    commits: list[str] = []

    def writer(name: str, wait: threading.Event | None) -> None:
        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute("SELECT set_config('app.workspace_id', %s, true)", [str(workspace.pk)])
            (version,) = conn.execute(
                "SELECT core_reserve_versions(%s, 1)", [str(workspace.pk)]
            ).fetchone()
            versions[name] = version
            if name == "a":
                a_reserved.set()
            if wait is not None:
                wait.wait(10)
        commits.append(name)

    a = threading.Thread(target=writer, args=("a", release_a))
    a.start()
    assert a_reserved.wait(10)
    b = threading.Thread(target=writer, args=("b", None))
    b.start()
    time.sleep(0.5)
    assert "b" not in versions, "B got a version while A held the clock"
    release_a.set()
    a.join(10)
    b.join(10)
    assert commits == ["a", "b"]
    assert versions["a"] < versions["b"]
