"""Collection: tombstones past retention are purged and raise the horizon; idle devices and
old stored results go."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from core.tenancy import db_context
from queries.models import SavedQuery
from sync.models import MutationResult, SyncClient
from sync.services.collect import sync_collect_workspace, workspace_ids_for_collection
from sync.tasks import collect_workspace
from tests.sync.conftest import Device, new_id
from tests.workspaces.conftest import Team


def test_purge_raises_the_horizon_and_old_cursors_reset(
    team: Team, alice: Device, bob: Device
) -> None:
    keep, gone = new_id(), new_id()
    alice.push(
        alice.mutation("saved_query", keep, {"name": "keep"}),
        alice.mutation("saved_query", gone, {"name": "gone"}),
    )
    bob.pull_all()
    stale_cursor = bob.cursor
    out = alice.push(alice.mutation("saved_query", gone, op="delete", base=2))
    delete_version = out["results"][0]["version"]
    bob.pull_all()
    fresh_cursor = bob.cursor

    report = sync_collect_workspace(
        workspace_id=team.workspace.pk, now=timezone.now() + timedelta(days=31)
    )
    assert report.tombstones == 1
    assert report.horizon == delete_version
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert list(SavedQuery.objects.values_list("name", flat=True)) == ["keep"]

    reset = bob.pull_page(stale_cursor)
    assert reset["reset"] is True
    assert [c["id"] for c in reset["changes"]] == [keep]  # a full snapshot follows
    assert bob.pull_page(fresh_cursor)["reset"] is False


def test_recent_tombstones_stay(team: Team, alice: Device) -> None:
    qid = new_id()
    alice.push(alice.mutation("saved_query", qid, {"name": "x"}))
    alice.push(alice.mutation("saved_query", qid, op="delete", base=1))
    report = sync_collect_workspace(workspace_id=team.workspace.pk)
    assert report.tombstones == 0
    assert report.horizon == 0


def test_private_tombstones_are_purged_too(team: Team, bob: Device) -> None:
    chat = new_id()
    bob.push(bob.mutation("chat", chat, {"title": "t"}))
    bob.push(bob.mutation("chat", chat, op="delete", base=1))
    report = sync_collect_workspace(
        workspace_id=team.workspace.pk, now=timezone.now() + timedelta(days=31)
    )
    assert report.tombstones == 1


def test_idle_devices_and_old_results_expire(team: Team, alice: Device, settings: Any) -> None:
    alice.push(alice.mutation("saved_query", new_id(), {"name": "x"}))
    later = timezone.now() + timedelta(days=settings.SYNC_RESULT_RETENTION_DAYS + 1)
    report = sync_collect_workspace(workspace_id=team.workspace.pk, now=later)
    assert report.results == 1
    assert report.devices == 0
    # A replay whose stored result was collected is still a duplicate.
    alice.next_mutation = 1
    out = alice.push(alice.mutation("saved_query", new_id(), {"name": "y"}))
    assert out["results"][0] == {"mutation_id": 1, "status": "duplicate", "original_status": None}
    idle = timezone.now() + timedelta(days=settings.SYNC_DEVICE_IDLE_DAYS + 1)
    assert sync_collect_workspace(workspace_id=team.workspace.pk, now=idle).devices == 1
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert not SyncClient.objects.exists()
        assert not MutationResult.objects.exists()


def test_tasks_cover_every_workspace(team: Team) -> None:
    ids = workspace_ids_for_collection()
    assert {team.workspace.pk, team.other_workspace.pk} <= set(ids)
    assert collect_workspace(str(team.workspace.pk)) == {
        "tombstones": 0,
        "horizon": 0,
        "devices": 0,
        "results": 0,
    }
