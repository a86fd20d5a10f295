"""Pull: ordering, paging, the signed cursor, resets, snapshot consistency and cost."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.tenancy import db_context
from core.versioning import VersionClock
from queries.models import SavedQuery
from sync.cursor import encode_cursor
from tests.factories import UserFactory, make_workspace
from tests.sync.conftest import HEADERS, Device, device, new_id, sync_url
from tests.workspaces.conftest import Team


def _queries(dev: Device, n: int) -> list[str]:
    ids = [new_id() for _ in range(n)]
    dev.push(*[dev.mutation("saved_query", i, {"name": f"q{k}"}) for k, i in enumerate(ids)])
    return ids


def test_pages_ascend_and_a_row_appears_once_at_its_latest_version(
    alice: Device, bob: Device
) -> None:
    ids = _queries(alice, 5)
    alice.push(alice.mutation("saved_query", ids[0], {"name": "again"}, base=1))
    alice.push(alice.mutation("saved_query", ids[0], {"name": "and again"}, base=1))
    pages, cursor = [], None
    while True:
        page = bob.pull_page(cursor, limit=2)
        pages.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    changes = [c for p in pages for c in p["changes"]]
    versions = [c["version"] for c in changes]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    assert sorted(c["id"] for c in changes) == sorted(ids)
    assert next(c for c in changes if c["id"] == ids[0])["data"]["name"] == "and again"
    assert all(len(p["changes"]) <= 2 for p in pages)
    assert len(pages) == 3
    # Nothing new: an empty page, same cursor semantics.
    assert bob.pull_page(cursor)["changes"] == []


def test_a_version_is_never_split_across_pages(team: Team, alice: Device, bob: Device) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        clock = VersionClock.reserve(team.workspace.pk, count=1)
        version = clock.next()
        for k in range(3):  # an import writing three rows at one version
            SavedQuery.objects.create(
                workspace=team.workspace, id=uuid.uuid4(), name=f"imp{k}", version=version
            )
    _queries(alice, 1)
    first = bob.pull_page(limit=2)
    assert [c["version"] for c in first["changes"]] == [version] * 3
    assert first["has_more"] is True
    second = bob.pull_page(first["cursor"], limit=2)
    assert len(second["changes"]) == 1
    assert second["has_more"] is False


def test_last_mutation_id_matches_the_snapshot(alice: Device) -> None:
    _queries(alice, 3)
    page = alice.pull_page()
    assert page["last_mutation_id"] == 3
    assert len(page["changes"]) == 3


def test_cursor_from_another_workspace_resets(team: Team, alice: Device) -> None:
    _queries(alice, 2)
    other = encode_cursor(workspace_id=team.other_workspace.pk, version=1, horizon=0)
    page = alice.pull_page(other)
    assert page["reset"] is True
    assert len(page["changes"]) == 2


@pytest.mark.parametrize("cursor", ["garbage", "MS4wLmZvcmdlZA", "x" * 300])
def test_unreadable_cursor_resets(alice: Device, cursor: str) -> None:
    _queries(alice, 1)
    page = alice.pull_page(cursor)
    assert page["reset"] is True
    assert len(page["changes"]) == 1


def test_cursor_from_the_future_resets(team: Team, alice: Device) -> None:
    _queries(alice, 1)
    future = encode_cursor(workspace_id=team.workspace.pk, version=10_000, horizon=0)
    assert alice.pull_page(future)["reset"] is True


def test_pull_parameters(alice: Device) -> None:
    url = sync_url(alice.workspace, "pull")
    for params in (
        {},
        {"client_id": "short"},
        {"client_id": alice.client_id, "limit": 0},
        {"client_id": alice.client_id, "limit": 1001},
        {"client_id": alice.client_id, "limit": "ten"},
    ):
        response = alice.http.get(url, params, **HEADERS)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "invalid_request"


def test_pull_cost_does_not_grow_with_the_workspace(team: Team, alice: Device) -> None:
    """Guarantee 6: the same number of queries, each an index range scan with a LIMIT."""
    _queries(alice, 3)
    cursor = alice.pull_page()["cursor"]
    _queries(alice, 2)
    with CaptureQueriesContext(connection) as small:
        assert len(alice.pull_page(cursor)["changes"]) == 2
    cursor = alice.pull_page()["cursor"]
    _queries(alice, 200)
    cursor = alice.pull_page(limit=1000)["cursor"]
    _queries(alice, 2)
    with CaptureQueriesContext(connection) as large:
        assert len(alice.pull_page(cursor)["changes"]) == 2
    assert len(large.captured_queries) == len(small.captured_queries)
    scans = [q["sql"] for q in large.captured_queries if '"version" >' in q["sql"]]
    assert scans
    assert all("LIMIT" in sql and "ORDER BY" in sql for sql in scans)


def test_pull_registers_the_device(alice: Device) -> None:
    alice.pull_page()
    response = alice.http.get(sync_url(alice.workspace, "devices"), **HEADERS)
    (entry,) = response.json()["results"]
    assert entry["client_id"] == alice.client_id
    assert entry["last_pull_at"]


def test_private_rows_never_reach_other_members(team: Team, alice: Device) -> None:
    chat, history = new_id(), new_id()
    alice.push(
        alice.mutation("chat", chat, {"title": "secret plans"}),
        alice.mutation("query_history", history, {"sql": "select 1"}),
        alice.mutation("chat_message", new_id(), {"chat_id": chat, "role": "user", "parts": []}),
    )
    bob = device(team, "member")
    assert bob.pull_all() == []
    assert {c["entity"] for c in Device(alice.http, alice.workspace).pull_all()} == {
        "chat",
        "query_history",
        "chat_message",
    }


def test_other_workspaces_rows_are_invisible(team: Team, alice: Device) -> None:
    _queries(alice, 2)
    charlie = device(team, "outsider", workspace=team.other_workspace)
    assert charlie.pull_all() == []
    # The same client UUID in another workspace is another row.
    ids = _queries(charlie, 1)
    assert all(c["id"] != ids[0] for c in Device(alice.http, alice.workspace).pull_all())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "push"),
        ("get", "pull"),
        ("get", "conflicts"),
        ("get", "devices"),
        ("delete", "devices/client-0001"),
        ("post", f"conflicts/{uuid.uuid4()}/resolve"),
    ],
)
def test_outsider_gets_404(team: Team, method: str, path: str) -> None:
    client = team.client("outsider")
    response = getattr(client, method)(
        sync_url(team.workspace, path) + ("?client_id=client-0001" if path == "pull" else ""),
        {"client_id": "client-0001", "mutations": [], "resolution": "keep_server"}
        if method == "post"
        else None,
        format="json",
        **HEADERS,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_devices_are_the_callers_own(team: Team, alice: Device, bob: Device) -> None:
    alice.push()
    bob.push()
    charlie = device(team, "outsider", workspace=team.other_workspace)
    charlie.push()
    listed = alice.http.get(sync_url(alice.workspace, "devices"), **HEADERS).json()["results"]
    assert [d["client_id"] for d in listed] == [alice.client_id]
    # Forgetting a device restarts its mutation ids at 1.
    url = sync_url(alice.workspace, f"devices/{alice.client_id}")
    assert alice.http.delete(url, **HEADERS).status_code == 204
    assert alice.http.delete(url, **HEADERS).status_code == 404
    assert (
        bob.http.delete(
            sync_url(bob.workspace, f"devices/{alice.client_id}"), **HEADERS
        ).status_code
        == 404
    )
    alice.next_mutation = 1
    out = alice.push(alice.mutation("saved_query", new_id(), {"name": "again"}))
    assert out["results"][0]["status"] == "applied"


def test_unknown_users_get_nothing(db: None) -> None:
    owner = UserFactory()
    workspace = make_workspace(owner, "W")
    from rest_framework.test import APIClient

    anonymous = APIClient()
    response = anonymous.get(sync_url(workspace, "pull"), {"client_id": "client-0001"}, **HEADERS)
    assert response.status_code in (401, 403)
