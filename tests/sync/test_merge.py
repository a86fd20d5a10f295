"""Field-level merge, conflict policies, delete against update, and conflict resolution."""

from __future__ import annotations

from typing import Any

import pytest

from core.tenancy import db_context
from tests.sync.conftest import HEADERS, Device, device, new_id, sync_url
from tests.workspaces.conftest import Team


def _policy(team: Team, policy: str) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        team.workspace.sync_conflict_policy = policy
        team.workspace.save()


def _state(dev: Device, row_id: str) -> dict[str, Any]:
    """The row as a fresh device of the same user pulls it."""
    fresh = Device(dev.http, dev.workspace)
    changes = [c for c in fresh.pull_all() if c["id"] == row_id]
    assert changes, f"{row_id} not pulled"
    return changes[-1]


def _conflicts(dev: Device, status: str = "all") -> list[dict[str, Any]]:
    response = dev.http.get(sync_url(dev.workspace, "conflicts"), {"status": status}, **HEADERS)
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def _resolve(dev: Device, conflict_id: str, **body: Any) -> Any:
    return dev.http.post(
        sync_url(dev.workspace, f"conflicts/{conflict_id}/resolve"), body, format="json", **HEADERS
    )


@pytest.fixture
def shared(alice: Device) -> tuple[str, int]:
    """A saved query both devices have pulled at version `base`."""
    qid = new_id()
    out = alice.push(alice.mutation("saved_query", qid, {"name": "q", "sql": "select 1"}))
    return qid, out["results"][0]["version"]


def test_disjoint_edits_merge(shared: tuple[str, int], alice: Device, bob: Device) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "renamed"}, base=base))
    out = bob.push(bob.mutation("saved_query", qid, {"sql": "select 2"}, base=base))
    assert out["results"][0]["status"] == "merged"
    data = _state(bob, qid)["data"]
    assert (data["name"], data["sql"]) == ("renamed", "select 2")
    assert _conflicts(bob) == []


def test_equal_values_never_conflict(shared: tuple[str, int], alice: Device, bob: Device) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "same"}, base=base))
    out = bob.push(bob.mutation("saved_query", qid, {"name": "same"}, base=base))
    assert out["results"][0]["status"] == "applied"
    assert _conflicts(bob) == []


def test_own_offline_edits_never_conflict(shared: tuple[str, int], alice: Device) -> None:
    qid, base = shared
    out = alice.push(
        alice.mutation("saved_query", qid, {"name": "first"}, base=base),
        alice.mutation("saved_query", qid, {"name": "second"}, base=base),
    )
    assert [r["status"] for r in out["results"]] == ["applied", "applied"]
    assert _state(alice, qid)["data"]["name"] == "second"
    assert _conflicts(alice) == []


def test_last_write_wins_keeps_the_later_write_and_records_the_loser(
    shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "alice's"}, base=base))
    out = bob.push(bob.mutation("saved_query", qid, {"name": "bob's"}, base=base))
    result = out["results"][0]
    assert result["status"] == "conflict"
    assert result["conflict_id"]
    assert _state(bob, qid)["data"]["name"] == "bob's"
    (record,) = _conflicts(alice)
    assert record["id"] == result["conflict_id"]
    assert record["status"] == "resolved"
    assert record["resolution"] == "auto"
    assert record["resolved_by"] is None
    assert record["policy"] == "last_write_wins"
    assert record["client_fields"] == {"name": "bob's"}
    assert record["server_fields"] == {"name": "alice's"}
    assert record["conflicting_fields"] == ["name"]
    assert record["client_id"] == bob.client_id
    assert record["mutation_id"] == 1
    assert record["base_version"] == base


def test_keep_both_makes_a_conflict_copy(
    team: Team, shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    _policy(team, "keep_both")
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "alice's"}, base=base))
    out = bob.push(bob.mutation("saved_query", qid, {"name": "bob's", "folder": "f"}, base=base))
    assert out["results"][0]["status"] == "conflict"
    changes = Device(bob.http, bob.workspace).pull_all()
    names = {c["data"]["name"] for c in changes if c["entity"] == "saved_query"}
    assert names == {"alice's", "bob's (conflict copy)"}
    original = next(c for c in changes if c["id"] == qid)
    assert original["data"]["folder"] == "f"  # the disjoint field merged into the original
    (record,) = _conflicts(bob)
    assert record["status"] == "resolved"
    assert record["copy_id"]


def test_manual_keeps_the_server_row_and_leaves_the_record_open(
    team: Team, shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    _policy(team, "manual")
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "alice's"}, base=base))
    bob.push(bob.mutation("saved_query", qid, {"name": "bob's"}, base=base))
    assert _state(bob, qid)["data"]["name"] == "alice's"
    (record,) = _conflicts(bob, "open")
    assert record["status"] == "open"
    assert record["resolution"] is None
    assert _conflicts(bob, "resolved") == []
    # Resolve keep_client: a normal versioned write; idempotent.
    version = _state(bob, qid)["version"]
    first = _resolve(bob, record["id"], resolution="keep_client", expected_version=version)
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "resolved"
    assert first.json()["resolved_by"]
    assert _state(bob, qid)["data"]["name"] == "bob's"
    again = _resolve(bob, record["id"], resolution="keep_client", expected_version=version)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = _resolve(bob, record["id"], resolution="keep_server")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "already_resolved"


def test_stale_expected_version_answers_409(
    team: Team, shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    _policy(team, "manual")
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "alice's"}, base=base))
    bob.push(bob.mutation("saved_query", qid, {"name": "bob's"}, base=base))
    (record,) = _conflicts(bob)
    response = _resolve(bob, record["id"], resolution="keep_client", expected_version=base)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_version"


def test_resolving_an_automatic_record_once_more(
    shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "alice's"}, base=base))
    bob.push(bob.mutation("saved_query", qid, {"name": "bob's"}, base=base))
    (record,) = _conflicts(alice)
    unchanged = _resolve(alice, record["id"], resolution="keep_client")
    assert unchanged.json()["resolved_by"] is None  # the choice it already has
    restored = _resolve(alice, record["id"], resolution="keep_server")
    assert restored.status_code == 200
    assert restored.json()["resolution"] == "keep_server"
    assert _state(alice, qid)["data"]["name"] == "alice's"
    # A device whose edit was based before the resolution conflicts with it.
    out = bob.push(bob.mutation("saved_query", qid, {"name": "bob again"}, base=base))
    assert out["results"][0]["status"] == "conflict"


def test_merged_resolution(team: Team, shared: tuple[str, int], alice: Device, bob: Device) -> None:
    _policy(team, "manual")
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "alice's"}, base=base))
    bob.push(bob.mutation("saved_query", qid, {"name": "bob's"}, base=base))
    (record,) = _conflicts(bob)
    bad = _resolve(bob, record["id"], resolution="merged", fields={"nope": 1})
    assert bad.status_code == 400
    response = _resolve(bob, record["id"], resolution="merged", fields={"name": "both"})
    assert response.status_code == 200
    assert _state(bob, qid)["data"]["name"] == "both"


def test_secrets_conflict_as_one_unit(alice: Device, bob: Device) -> None:
    cid = new_id()
    out = alice.push(
        alice.mutation("connection", cid, {"name": "c", "engine": "postgres", "password": "a"})
    )
    base = out["results"][0]["version"]
    alice.push(alice.mutation("connection", cid, {"password": "new"}, base=base))
    out = bob.push(bob.mutation("connection", cid, {"ssh_private_key": "KEY"}, base=base))
    assert out["results"][0]["status"] == "conflict"
    (record,) = _conflicts(bob)
    assert record["conflicting_fields"] == ["ssh_private_key"]
    # GET conflicts carries no secret value (no device to record the delivery against); the
    # record pulled to a member's device does (tests/sync/test_secrets.py).
    assert record["server_fields"] == {}
    pulled = [c["data"] for c in Device(bob.http, bob.workspace).pull_all()]
    (on_device,) = [data for data in pulled if data.get("id") == record["id"]]
    assert on_device["server_fields"] == {"password": "new"}


def test_non_secret_edits_beside_a_secret_change_merge(alice: Device, bob: Device) -> None:
    cid = new_id()
    out = alice.push(alice.mutation("connection", cid, {"name": "c", "engine": "postgres"}))
    base = out["results"][0]["version"]
    alice.push(alice.mutation("connection", cid, {"password": "new"}, base=base))
    out = bob.push(bob.mutation("connection", cid, {"host": "h"}, base=base))
    assert out["results"][0]["status"] == "merged"


@pytest.mark.parametrize("policy", ["last_write_wins", "keep_both", "manual"])
def test_update_against_a_tombstone_keeps_the_edit_in_a_conflict(
    team: Team, shared: tuple[str, int], alice: Device, bob: Device, policy: str
) -> None:
    _policy(team, policy)
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, op="delete", base=base))
    out = bob.push(bob.mutation("saved_query", qid, {"name": "edited"}, base=base))
    assert out["results"][0]["status"] == "conflict"
    assert _state(bob, qid)["op"] == "delete"  # the tombstone wins, never resurrected
    (record,) = _conflicts(bob)
    assert record["client_fields"] == {"name": "edited"}
    assert record["server_fields"] == {"deleted": True}
    assert record["status"] == ("open" if policy == "manual" else "resolved")
    restored = _resolve(bob, record["id"], resolution="keep_client")
    assert restored.status_code == 200, restored.content
    state = _state(bob, qid)
    assert state["op"] == "upsert"
    assert (state["data"]["name"], state["data"]["sql"]) == ("edited", "select 1")


def test_delete_against_an_update_keeps_the_update_in_a_conflict(
    shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "edited"}, base=base))
    out = bob.push(bob.mutation("saved_query", qid, op="delete", base=base))
    assert out["results"][0]["status"] == "conflict"
    assert _state(bob, qid)["op"] == "delete"
    (record,) = _conflicts(bob)
    assert record["server_fields"] == {"name": "edited"}
    assert record["client_fields"] == {"deleted": True}
    assert _resolve(bob, record["id"], resolution="keep_server").status_code == 200
    assert _state(bob, qid)["data"]["name"] == "edited"


def test_conflicts_on_private_rows_are_the_authors_only(team: Team, bob: Device) -> None:
    laptop, desktop = bob, device(team, "member")
    chat = new_id()
    base = laptop.push(laptop.mutation("chat", chat, {"title": "t"}))["results"][0]["version"]
    laptop.push(laptop.mutation("chat", chat, {"title": "laptop"}, base=base))
    out = desktop.push(desktop.mutation("chat", chat, {"title": "desktop"}, base=base))
    assert out["results"][0]["status"] == "conflict"
    assert len(_conflicts(bob)) == 1
    alice = device(team, "owner")
    assert _conflicts(alice) == []
    assert all(c["entity"] != "conflict" for c in alice.pull_all())
    assert (
        _resolve(alice, out["results"][0]["conflict_id"], resolution="keep_server").status_code
        == 404
    )


def test_viewer_cannot_resolve(
    team: Team, shared: tuple[str, int], alice: Device, bob: Device
) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "a"}, base=base))
    bob.push(bob.mutation("saved_query", qid, {"name": "b"}, base=base))
    (record,) = _conflicts(bob)
    vera = device(team, "viewer")
    assert len(_conflicts(vera)) == 1
    assert _resolve(vera, record["id"], resolution="keep_server").status_code == 403


def test_conflicts_arrive_through_pull(shared: tuple[str, int], alice: Device, bob: Device) -> None:
    qid, base = shared
    alice.push(alice.mutation("saved_query", qid, {"name": "a"}, base=base))
    out = bob.push(bob.mutation("saved_query", qid, {"name": "b"}, base=base))
    pulled = [
        c for c in Device(alice.http, alice.workspace).pull_all() if c["entity"] == "conflict"
    ]
    assert [c["id"] for c in pulled] == [out["results"][0]["conflict_id"]]
    assert pulled[0]["data"]["entity_id"] == qid


def test_bad_status_filter_answers_400(alice: Device) -> None:
    response = alice.http.get(sync_url(alice.workspace, "conflicts"), {"status": "x"}, **HEADERS)
    assert response.status_code == 400
