"""Saved queries API: shared with the workspace, SQL encrypted at rest, search/tag/favorite/
folder filters, ordering, cursor pages with a pinned query count, optimistic concurrency,
tombstones and the plan limit. Charlie, the outsider, gets 404 everywhere."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.tenancy import db_context
from queries.models import SavedQuery
from tests.connections.helpers import Team, all_tables_containing, canary, url

pytestmark = pytest.mark.django_db

LIST_QUERIES = 6  # savepoint (2), membership and RLS binding (3), the page (1)


def _create(team: Team, role: str = "member", **fields: Any) -> Any:
    body = {"name": "top customers", "sql": "select 1", **fields}
    return team.client(role).post(url(team, "saved-queries/"), body, format="json")


def test_create_read_and_sql_is_encrypted_at_rest(team: Team) -> None:
    sql = f"select '{canary()}' from customers"
    response = _create(team, sql=sql, tags=["sales"], folder="reports/monthly", favorite=True)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sql"] == sql
    assert body["created_by"] == str(team.member.pk)
    for role in ("owner", "admin", "member", "viewer"):
        read = team.client(role).get(url(team, f"saved-queries/{body['id']}"))
        assert read.status_code == 200
        assert read.json()["sql"] == sql
    needle = sql.split("'")[1]
    assert all_tables_containing(needle) == []


def test_connection_reference_must_exist(team: Team) -> None:
    response = _create(team, connection_id=str(uuid.uuid4()))
    assert response.status_code == 400
    assert "connection_id" in response.json()["error"]["fields"]
    conn = team.client("member").post(
        url(team, "connections/"), {"name": "pg", "engine": "postgres"}, format="json"
    )
    ok = _create(team, connection_id=conn.json()["id"])
    assert ok.status_code == 201
    assert ok.json()["connection_id"] == conn.json()["id"]
    # Another workspace's connection is no reference.
    other = team.client("outsider").post(
        url(team, "connections/", workspace=team.other_workspace),
        {"name": "c", "engine": "sqlite"},
        format="json",
    )
    assert _create(team, connection_id=other.json()["id"]).status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"sql": "select 1"}, "name"),
        ({"name": "q", "tags": [""]}, "tags"),
        ({"name": "q", "tags": ["x" * 65]}, "tags"),
        ({"name": "q", "favorite": "often"}, "favorite"),
        ({"name": "q", "folder": "x" * 501}, "folder"),
        ({"name": "q", "connection_id": "nope"}, "connection_id"),
        ({"name": "q", "sql": "select 1\x00"}, "sql"),
        ({"name": "q", "owner": "me"}, "owner"),
    ],
)
def test_bad_input_is_a_400(team: Team, body: dict[str, Any], field: str) -> None:
    response = team.client("member").post(url(team, "saved-queries/"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_filters_ordering_and_folders(team: Team) -> None:
    for name, tags, folder, favorite in (
        ("Revenue by month", ["sales"], "reports/monthly", True),
        ("Churn", ["growth"], "reports", False),
        ("Scratch", [], "", False),
        ("Sales leads", ["sales", "growth"], "crm", True),
    ):
        created = _create(team, name=name, tags=tags, folder=folder, favorite=favorite)
        assert created.status_code == 201
    client = team.client("viewer")

    def names(query: str) -> list[str]:
        response = client.get(url(team, "saved-queries/") + query)
        assert response.status_code == 200, response.content
        return [q["name"] for q in response.json()["results"]]

    assert names("") == ["Churn", "Revenue by month", "Sales leads", "Scratch"]
    assert names("?q=sales") == ["Sales leads"]
    assert names("?tag=growth") == ["Churn", "Sales leads"]
    assert names("?favorite=true") == ["Revenue by month", "Sales leads"]
    assert names("?favorite=false&ordering=-name") == ["Scratch", "Churn"]
    assert names("?folder=reports") == ["Churn", "Revenue by month"]
    assert names("?folder=reports/monthly") == ["Revenue by month"]
    assert names("?folder=") == ["Scratch"]
    assert names("?ordering=-created_at")[0] == "Sales leads"
    folders = client.get(url(team, "saved-queries/folders")).json()
    assert folders == [
        {"folder": "crm", "count": 1},
        {"folder": "reports", "count": 1},
        {"folder": "reports/monthly", "count": 1},
    ]
    for bad in ("?favorite=often", "?ordering=sql", "?connection_id=x", f"?q={'x' * 201}"):
        response = client.get(url(team, "saved-queries/") + bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "validation_error"


def test_update_delete_and_concurrency(team: Team) -> None:
    created = _create(team, sql="select 1").json()
    path = url(team, f"saved-queries/{created['id']}")
    client = team.client("admin")
    updated = client.patch(
        path, {"sql": "select 2"}, format="json", HTTP_IF_MATCH=str(created["version"])
    )
    assert updated.status_code == 200
    assert updated.json()["sql"] == "select 2"
    assert updated["ETag"] == f'"{updated.json()["version"]}"'
    stale = client.patch(
        path, {"sql": "select 3", "expected_version": created["version"]}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert team.client("viewer").patch(path, {"sql": "x"}, format="json").status_code == 403
    assert team.client("viewer").delete(path).status_code == 403
    assert client.delete(path, HTTP_IF_MATCH=str(updated.json()["version"])).status_code == 204
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = SavedQuery.objects.get(id=created["id"])
    assert row.deleted
    assert row.sql_encrypted is None


def test_outsider_gets_404(team: Team) -> None:
    created = _create(team).json()
    client = team.client("outsider")
    item = url(team, f"saved-queries/{created['id']}")
    for response in (
        client.get(url(team, "saved-queries/")),
        client.get(url(team, "saved-queries/folders")),
        client.post(url(team, "saved-queries/"), {"name": "x"}, format="json"),
        client.get(item),
        client.patch(item, {"name": "x"}, format="json"),
        client.delete(item),
    ):
        assert response.status_code == 404
    assert (
        client.get(url(team, "saved-queries/", workspace=team.other_workspace)).json()["results"]
        == []
    )


def test_plan_limit(team: Team, settings: Any) -> None:
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "free": {**settings.PLAN_LIMITS["free"], "saved_queries": 2},
    }
    client = team.client("outsider")
    base = url(team, "saved-queries/", workspace=team.other_workspace)
    assert client.post(base, {"name": "a"}, format="json").status_code == 201
    assert client.post(base, {"name": "b"}, format="json").status_code == 201
    response = client.post(base, {"name": "c"}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["limit"] == "saved_queries"


def test_list_query_count_is_constant(team: Team, django_assert_num_queries: Any) -> None:
    for i in range(3):
        _create(team, name=f"q{i}", sql=f"select {i}")
    client = team.client("viewer")
    client.get(url(team, "saved-queries/"))  # first request: last_seen_at, key cache
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "saved-queries/")).json()["results"]) == 3
    for i in range(3, 40):
        _create(team, name=f"q{i}", sql=f"select {i}")
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(url(team, "saved-queries/") + "?limit=100")
    assert [q["sql"] for q in response.json()["results"]][:2] == ["select 0", "select 1"]
