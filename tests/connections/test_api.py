"""Connections API: create from fields or a URL, list/read metadata for every role, secrets only
through the audited reveal for members and up, optimistic concurrency, tombstones, plan limits.
Charlie, the outsider, gets 404 everywhere."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connections.models import Connection
from core.tenancy import db_context
from tests.connections.helpers import Team, canary, url
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

LIST_QUERIES = 6
SECRET_KEYS = (
    "password",
    "connection_string",
    "ssh_private_key",
    "ssh_passphrase",
    "tls_client_key",
)


def _create(team: Team, role: str = "member", **fields: Any) -> Any:
    body = {"name": "prod", "engine": "postgres", "host": "db.example.com", "port": 5432, **fields}
    return team.client(role).post(url(team, "connections/"), body, format="json")


def _audit(team: Team, action: str) -> list[AuditEvent]:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        return list(AuditEvent.objects.filter(workspace_id=team.workspace.pk, action=action))


def test_create_from_fields_returns_metadata_only(team: Team) -> None:
    secret = canary("pw")
    response = _create(team, password=secret, tags=["prod"], options={"tls": {"mode": "require"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "prod"
    assert body["has_password"] is True
    assert body["has_ssh_private_key"] is False
    assert body["options"] == {"tls": {"mode": "require"}}
    assert body["created_by"] == str(team.member.pk)
    assert response["ETag"] == f'"{body["version"]}"'
    assert secret not in response.content.decode()
    for key in SECRET_KEYS:
        assert key not in body


def test_create_from_url(team: Team) -> None:
    secret = canary("pw")
    response = team.client("member").post(
        url(team, "connections/"),
        {
            "name": "shop",
            "url": f"mysql://app:{secret}@mysql.example.com:3307/shop?ssl-mode=VERIFY_IDENTITY",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["engine"], body["host"], body["port"], body["database"], body["username"]) == (
        "mysql",
        "mysql.example.com",
        3307,
        "shop",
        "app",
    )
    assert body["options"]["tls"] == {"mode": "verify-full"}
    assert body["has_password"] is True
    assert secret not in response.content.decode()
    revealed = team.client("member").post(url(team, f"connections/{body['id']}/reveal"))
    assert revealed.json()["password"] == secret
    assert revealed.json()["url"].startswith("mysql://app:")


def test_explicit_fields_win_over_the_url(team: Team) -> None:
    response = team.client("member").post(
        url(team, "connections/"),
        {"name": "pg", "url": "postgres://u:p@h1:5432/a", "database": "b", "port": 6543},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["database"], response.json()["port"]) == ("b", 6543)


def test_bad_url_names_the_field_and_never_echoes_the_password(team: Team) -> None:
    secret = canary("pw")
    response = team.client("member").post(
        url(team, "connections/"),
        {"name": "x", "url": f"postgres://u:{secret}@host:99999/db"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["url"] == ["port: must be a number from 1 to 65535."]
    assert secret not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "engine": "postgres"}, "name"),
        ({"engine": "postgres"}, "name"),
        ({"name": "x"}, "engine"),
        ({"name": "x", "engine": "access97"}, "engine"),
        ({"name": "x", "engine": "mysql", "port": 70000}, "port"),
        ({"name": "x", "engine": "mysql", "port": "five"}, "port"),
        ({"name": "x", "engine": "mysql", "hostname": "h"}, "hostname"),
        ({"name": "x", "engine": "mysql", "tags": "prod"}, "tags"),
        ({"name": "x", "engine": "mysql", "options": []}, "options"),
        ({"name": "x", "engine": "mysql", "options": {"tls": {"mode": "sure"}}}, "options"),
        ({"name": "x", "engine": "mysql", "options": {"ssh": {"port": 0}}}, "options"),
        ({"name": "x", "engine": "mysql", "read_only": "maybe"}, "read_only"),
        ({"name": "x" * 201, "engine": "mysql"}, "name"),
        ({"name": "x", "engine": "mysql", "id": "not-a-uuid"}, "id"),
        ({"name": "x", "url": "oracle://u@h/db"}, "url"),
        ({"name": "x", "engine": "postgres", "url": "mysql://u@h/db"}, "url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(team: Team, body: dict[str, Any], field: str) -> None:
    response = team.client("member").post(url(team, "connections/"), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    assert error["request_id"]


def test_malformed_json_is_a_400(team: Team) -> None:
    response = team.client("member").post(
        url(team, "connections/"), data="{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_every_role_lists_and_reads_metadata_but_never_a_secret(team: Team) -> None:
    secret = canary("pw")
    key = canary("key")
    created = _create(team, password=secret, ssh_private_key=key).json()
    for role in ("owner", "admin", "member", "viewer"):
        client = team.client(role)
        listed = client.get(url(team, "connections/"))
        assert listed.status_code == 200
        assert [c["id"] for c in listed.json()["results"]] == [created["id"]]
        read = client.get(url(team, f"connections/{created['id']}"))
        assert read.status_code == 200
        assert read.json()["has_ssh_private_key"] is True
        for response in (listed, read):
            text = response.content.decode()
            assert secret not in text
            assert key not in text


def test_reveal_is_for_members_and_up_and_audited(team: Team) -> None:
    secret = canary("pw")
    created = _create(team, password=secret, username="app", database="shop").json()
    path = url(team, f"connections/{created['id']}/reveal")
    viewer = team.client("viewer").post(path)
    assert viewer.status_code == 403
    assert secret not in viewer.content.decode()
    for role in ("member", "admin", "owner"):
        response = team.client(role).post(path)
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        assert body["password"] == secret
        assert body["ssh_private_key"] is None
        assert body["url"] == f"postgres://app:{secret}@db.example.com:5432/shop"
    events = _audit(team, "connection.secrets_revealed")
    assert len(events) == 3
    assert {str(e.actor_id) for e in events} == {
        str(team.member.pk),
        str(team.admin.pk),
        str(team.owner.pk),
    }
    assert all(e.metadata == {"fields": ["password"]} for e in events)
    assert all(secret not in str(e.metadata) for e in events)


def test_viewer_cannot_write(team: Team) -> None:
    created = _create(team).json()
    client = team.client("viewer")
    assert _create(team, role="viewer").status_code == 403
    path = url(team, f"connections/{created['id']}")
    assert client.patch(path, {"name": "x"}, format="json").status_code == 403
    assert client.delete(path).status_code == 403


def test_outsider_gets_404_everywhere(team: Team) -> None:
    created = _create(team, password="hunter2").json()
    client = team.client("outsider")
    base = url(team, "connections/")
    item = url(team, f"connections/{created['id']}")
    for response in (
        client.get(base),
        client.post(base, {"name": "x", "engine": "postgres"}, format="json"),
        client.get(item),
        client.patch(item, {"name": "x"}, format="json"),
        client.delete(item),
        client.post(item + "/reveal"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # Charlie's own workspace does not see Alice's connection either.
    other = client.get(url(team, f"connections/{created['id']}", workspace=team.other_workspace))
    assert other.status_code == 404


def test_update_with_optimistic_concurrency(team: Team) -> None:
    created = _create(team, password="one").json()
    path = url(team, f"connections/{created['id']}")
    client = team.client("member")
    updated = client.patch(
        path, {"name": "renamed"}, format="json", HTTP_IF_MATCH=f'"{created["version"]}"'
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["version"] > created["version"]
    stale = client.patch(
        path, {"name": "again"}, format="json", HTTP_IF_MATCH=str(created["version"])
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert stale.json()["error"]["current_version"] == updated.json()["version"]
    stale_body = client.patch(
        path, {"name": "again", "expected_version": created["version"]}, format="json"
    )
    assert stale_body.status_code == 409
    bad_header = client.patch(path, {"name": "x"}, format="json", HTTP_IF_MATCH="yesterday")
    assert bad_header.status_code == 400
    # A change that changes nothing keeps the version.
    same = client.patch(path, {"name": "renamed"}, format="json")
    assert same.json()["version"] == updated.json()["version"]


def test_update_secrets_and_url(team: Team) -> None:
    created = _create(team, password="one", options={"ssh": {"host": "bastion", "port": 22}}).json()
    path = url(team, f"connections/{created['id']}")
    client = team.client("member")
    response = client.patch(
        path, {"url": "postgres://app:two@pg.example.com/shop?sslmode=require"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["host"] == "pg.example.com"
    assert body["options"] == {"ssh": {"host": "bastion", "port": 22}, "tls": {"mode": "require"}}
    assert client.post(path + "/reveal").json()["password"] == "two"
    cleared = client.patch(path, {"password": None}, format="json")
    assert cleared.json()["has_password"] is False


def test_delete_is_a_tombstone_with_secrets_erased(team: Team) -> None:
    created = _create(team, password="secret", tls_client_key="key").json()
    client = team.client("member")
    path = url(team, f"connections/{created['id']}")
    stale = client.delete(path, HTTP_IF_MATCH=str(created["version"] + 100))
    assert stale.status_code == 409
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404
    assert client.get(url(team, "connections/")).json()["results"] == []
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        row = Connection.objects.get(id=created["id"])
    assert row.deleted
    assert row.deleted_at is not None
    assert row.version > created["version"]
    assert row.password_encrypted is None
    assert row.tls_client_key_encrypted is None


def test_client_chosen_id_and_duplicates(team: Team) -> None:
    chosen = uuid.uuid4()
    response = _create(team, id=str(chosen))
    assert response.status_code == 201
    assert response.json()["id"] == str(chosen)
    again = _create(team, id=str(chosen))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_exists"
    # The same id in another workspace is another row (and reveals nothing).
    other = team.client("outsider").post(
        url(team, "connections/", workspace=team.other_workspace),
        {"id": str(chosen), "name": "mine", "engine": "sqlite", "database": "a.db"},
        format="json",
    )
    assert other.status_code == 201


def test_plan_limit(team: Team) -> None:
    client = team.client("outsider")  # Charlie's own workspace is on the free plan (5)
    base = url(team, "connections/", workspace=team.other_workspace)
    for i in range(5):
        response = client.post(base, {"name": f"c{i}", "engine": "sqlite"}, format="json")
        assert response.status_code == 201
    response = client.post(base, {"name": "c5", "engine": "sqlite"}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "plan_limit"
    assert response.json()["error"]["limit"] == "connections"
    # A deleted connection frees its slot.
    first = client.get(base).json()["results"][0]["id"]
    assert client.delete(f"{base}{first}").status_code == 204
    assert client.post(base, {"name": "c5", "engine": "sqlite"}, format="json").status_code == 201


def test_list_filters_ordering_and_pagination(team: Team) -> None:
    for name, engine, tags in (
        ("beta", "postgres", ["prod"]),
        ("alpha", "mysql", ["dev"]),
        ("gamma", "postgres", ["dev", "prod"]),
    ):
        assert _create(team, name=name, engine=engine, tags=tags).status_code == 201
    client = team.client("viewer")

    def names(query: str) -> list[str]:
        response = client.get(url(team, "connections/") + query)
        assert response.status_code == 200, response.content
        return [c["name"] for c in response.json()["results"]]

    assert names("") == ["alpha", "beta", "gamma"]
    assert names("?ordering=-name") == ["gamma", "beta", "alpha"]
    assert names("?engine=postgres") == ["beta", "gamma"]
    assert names("?tag=prod") == ["beta", "gamma"]
    assert names("?q=AMM") == ["gamma"]
    first = client.get(url(team, "connections/") + "?limit=2").json()
    assert [c["name"] for c in first["results"]] == ["alpha", "beta"]
    second = client.get(first["next"]).json()
    assert [c["name"] for c in second["results"]] == ["gamma"]
    for bad in ("?ordering=password", "?engine=access97", "?limit=abc&cursor=zzz"):
        response = client.get(url(team, "connections/") + bad)
        assert response.status_code in (400, 404), bad
        assert "error" in response.json()


def test_list_query_count_is_constant(team: Team, django_assert_num_queries: Any) -> None:
    """Savepoint (2), membership and row-level security binding (3), the page (1): no query
    per row, whatever the page size."""
    for i in range(3):
        _create(team, name=f"c{i}", password="x")
    client = team.client("viewer")
    client.get(url(team, "connections/"))  # accounts stamps last_seen_at on a first request
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "connections/")).json()["results"]) == 3
    for i in range(3, 30):
        _create(team, name=f"c{i}", password="x")
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "connections/")).json()["results"]) == 30
