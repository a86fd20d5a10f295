"""Query history: private to its author (every role has its own; admins and owners do not see
members' history), append-only, encrypted SQL and error text, filters, delete one, delete all
mine. Charlie, the outsider, gets 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.tenancy import db_context
from queries.models import QueryHistory
from tests.connections.helpers import Team, all_tables_containing, canary, url

pytestmark = pytest.mark.django_db

LIST_QUERIES = 6


def _record(team: Team, role: str = "member", **fields: Any) -> Any:
    body = {"sql": "select 1", "success": True, "duration_ms": 12, "rows": 1, **fields}
    return team.client(role).post(url(team, "history/"), body, format="json")


def test_every_role_records_and_sees_only_its_own(team: Team) -> None:
    for role in ("owner", "admin", "member", "viewer"):
        response = _record(team, role, sql=f"select '{role}'")
        assert response.status_code == 201, response.content
        assert response.json()["executed_at"] is not None
    for role in ("owner", "admin", "member", "viewer"):
        listed = team.client(role).get(url(team, "history/")).json()["results"]
        assert [h["sql"] for h in listed] == [f"select '{role}'"]
    # Bob's row is a 404 for the owner: private rows are invisible, not forbidden.
    bobs = team.client("member").get(url(team, "history/")).json()["results"][0]["id"]
    owner = team.client("owner")
    assert owner.get(url(team, f"history/{bobs}")).status_code == 404
    assert owner.delete(url(team, f"history/{bobs}")).status_code == 404
    assert team.client("member").get(url(team, f"history/{bobs}")).status_code == 200


def test_sql_and_error_are_encrypted_at_rest(team: Team) -> None:
    secret_sql = canary("sql")
    secret_error = canary("err")
    response = _record(team, sql=f"select '{secret_sql}'", success=False, error=secret_error)
    assert response.status_code == 201
    assert response.json()["error"] == secret_error
    assert all_tables_containing(secret_sql) == []
    assert all_tables_containing(secret_error) == []


def test_history_is_append_only(team: Team) -> None:
    created = _record(team).json()
    response = team.client("member").patch(
        url(team, f"history/{created['id']}"), {"sql": "x"}, format="json"
    )
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "sql"),
        ({"sql": ""}, "sql"),
        ({"sql": "x", "executed_at": "yesterday"}, "executed_at"),
        ({"sql": "x", "executed_at": "2026-01-01T10:00:00"}, "executed_at"),
        ({"sql": "x", "duration_ms": -1}, "duration_ms"),
        ({"sql": "x", "rows": -5}, "rows"),
        ({"sql": "x", "success": "kinda"}, "success"),
        ({"sql": "x", "connection_id": "nope"}, "connection_id"),
        ({"sql": "x", "author": "someone"}, "author"),
    ],
)
def test_bad_input_is_a_400(team: Team, body: dict[str, Any], field: str) -> None:
    response = team.client("member").post(url(team, "history/"), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_filters(team: Team) -> None:
    conn = (
        team.client("member")
        .post(url(team, "connections/"), {"name": "pg", "engine": "postgres"}, format="json")
        .json()["id"]
    )
    now = timezone.now()
    for sql, days_ago, success, connection_id in (
        ("a", 10, True, conn),
        ("b", 5, False, None),
        ("c", 1, True, conn),
    ):
        _record(
            team,
            sql=sql,
            success=success,
            connection_id=connection_id,
            executed_at=(now - timedelta(days=days_ago)).isoformat(),
        )
    client = team.client("member")

    def sqls(query: str) -> list[str]:
        response = client.get(url(team, "history/") + query)
        assert response.status_code == 200, response.content
        return [h["sql"] for h in response.json()["results"]]

    assert sqls("") == ["c", "b", "a"]
    assert sqls("?ordering=executed_at") == ["a", "b", "c"]
    assert sqls(f"?connection_id={conn}") == ["c", "a"]
    assert sqls("?success=false") == ["b"]
    since = (now - timedelta(days=6)).isoformat().replace("+00:00", "Z")
    until = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert sqls(f"?since={since}&until={until}") == ["b"]
    for bad in ("?since=monday", "?success=perhaps", "?ordering=sql", "?connection_id=1"):
        assert client.get(url(team, "history/") + bad).status_code == 400, bad


def test_delete_one_and_delete_all_mine(team: Team) -> None:
    mine = [_record(team, sql=f"select {i}").json() for i in range(3)]
    _record(team, "admin", sql="select 'adam'")
    client = team.client("member")
    stale = client.delete(url(team, f"history/{mine[0]['id']}"), HTTP_IF_MATCH="999999")
    assert stale.status_code == 409
    assert client.delete(url(team, f"history/{mine[0]['id']}")).status_code == 204
    assert len(client.get(url(team, "history/")).json()["results"]) == 2
    response = client.delete(url(team, "history/"))
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert client.get(url(team, "history/")).json()["results"] == []
    # Adam's history is untouched; Bob's rows are tombstones without their SQL.
    assert len(team.client("admin").get(url(team, "history/")).json()["results"]) == 1
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        rows = list(QueryHistory.objects.filter(author=team.member))
    assert len(rows) == 3
    assert all(r.deleted and r.sql_encrypted is None for r in rows)
    assert len({r.version for r in rows}) == 3


def test_outsider_gets_404(team: Team) -> None:
    created = _record(team).json()
    client = team.client("outsider")
    for response in (
        client.get(url(team, "history/")),
        client.post(url(team, "history/"), {"sql": "x"}, format="json"),
        client.delete(url(team, "history/")),
        client.get(url(team, f"history/{created['id']}")),
        client.delete(url(team, f"history/{created['id']}")),
    ):
        assert response.status_code == 404


def test_list_query_count_is_constant(team: Team, django_assert_num_queries: Any) -> None:
    for i in range(2):
        _record(team, sql=f"select {i}")
    client = team.client("member")
    client.get(url(team, "history/"))
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "history/")).json()["results"]) == 2
    for i in range(2, 30):
        _record(team, sql=f"select {i}", error="boom")
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "history/")).json()["results"]) == 30


def test_account_deletion_removes_private_history_in_shared_workspaces(team: Team) -> None:
    from accounts.services.account import account_delete
    from core.tenancy.system import system_context

    _record(team, "member", sql="select 'bob'")
    _record(team, "admin", sql="select 'adam'")
    account_delete(user=team.member, request=None)
    with system_context():
        authors = set(QueryHistory.objects.values_list("author_id", flat=True))
    assert authors == {team.admin.pk}
    assert len(team.client("admin").get(url(team, "history/")).json()["results"]) == 1
