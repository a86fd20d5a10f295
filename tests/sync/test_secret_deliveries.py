"""The secret delivery ledger (sync_secretdelivery) and `GET connections/{id}/secret-holders`.

A pull that hands a connection's secrets to a device records the first delivery of each secret
version to that device, in one statement per page; a second pull adds nothing, a changed
password adds a row, a viewer's or a `sync_secrets: false` pull adds none. The ledger holds no
value and no hash of one, is append-only for the app role and bound to its workspace. The
holders endpoint answers owners and admins (members and viewers 403, the outsider 404).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.tenancy import db_context
from sync.models import SecretDelivery
from tests.connections.helpers import all_tables_containing, canary
from tests.sync.conftest import HEADERS, Device, device, new_id, sync_url
from tests.sync.test_secrets import _plant, _secret_conflict, _set
from tests.workspaces.conftest import Team


def _ledger(team: Team, **filters: Any) -> list[SecretDelivery]:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        return list(
            SecretDelivery.objects.filter(workspace_id=team.workspace.pk, **filters).order_by("id")
        )


def _holders(team: Team, role: str, connection_id: str, workspace: Any = None) -> Any:
    workspace = workspace or team.workspace
    return team.client(role).get(
        f"/api/v1/workspaces/{workspace.pk}/connections/{connection_id}/secret-holders"
    )


def _fresh_pull(dev: Device) -> None:
    Device(dev.http, dev.workspace, client_id=dev.client_id).pull_all()


# --- the ledger -------------------------------------------------------------------------------


def test_each_device_is_recorded_once_per_secret_version(team: Team) -> None:
    alice = device(team, "owner")
    cid, _, version = _plant(alice)
    bob = device(team, "member")
    bob.pull_all()
    (first,) = _ledger(team, row_id=cid)
    assert (first.entity, first.user_id) == ("connection", team.member.pk)
    assert first.client_id == bob.client_id
    assert first.secret_version == version
    assert first.conflict_id is None

    _fresh_pull(bob)  # the same secrets to the same device again: nothing new
    bob.pull_all()
    assert len(_ledger(team, row_id=cid)) == 1

    laptop = device(team, "member")  # bob's second device
    laptop.pull_all()
    assert {d.client_id for d in _ledger(team, row_id=cid)} == {bob.client_id, laptop.client_id}

    # A change beside the secrets is not a new secret version.
    alice.push(alice.mutation("connection", cid, {"host": "db2"}, base=version))
    bob.pull_all()
    assert len(_ledger(team, row_id=cid)) == 2

    # A changed password is.
    out = alice.push(alice.mutation("connection", cid, {"password": canary()}, base=version))
    rotated = out["results"][0]["version"]
    bob.pull_all()
    rows = _ledger(team, row_id=cid, client_id=bob.client_id)
    assert [d.secret_version for d in rows] == [version, rotated]


def test_no_delivery_is_recorded_for_viewers_or_while_the_workspace_keeps_secrets_off_devices(
    team: Team,
) -> None:
    cid, _, _ = _plant(device(team, "owner"))
    device(team, "viewer").pull_all()
    assert _ledger(team, row_id=cid) == []
    _set(team, sync_secrets=False)
    device(team, "member").pull_all()
    assert _ledger(team, row_id=cid) == []


def test_a_connection_without_secrets_records_nothing(team: Team) -> None:
    alice = device(team, "owner")
    cid = new_id()
    alice.push(alice.mutation("connection", cid, {"name": "plain", "engine": "postgres"}))
    device(team, "member").pull_all()
    assert _ledger(team, row_id=cid) == []


def test_secrets_inside_a_pulled_conflict_record_are_recorded_with_it(team: Team) -> None:
    cid, _, _ = _secret_conflict(team)
    adam = device(team, "admin")
    adam.pull_all()
    rows = _ledger(team, row_id=cid, client_id=adam.client_id)
    via_conflict = [d for d in rows if d.conflict_id is not None]
    assert len(via_conflict) == 1
    assert len(rows) == 2  # the row's current secrets and the record's two sides


def test_one_statement_records_a_whole_page(team: Team) -> None:
    alice = device(team, "owner")
    ids = [_plant(alice)[0] for _ in range(3)]
    bob = device(team, "member")
    with CaptureQueriesContext(connection) as queries:
        page = bob.pull_page(limit=500)
    assert not page["has_more"]
    inserts = [q["sql"] for q in queries if "INSERT INTO sync_secretdelivery" in q["sql"]]
    assert len(inserts) == 1
    assert {str(d.row_id) for d in _ledger(team)} == set(ids)
    # Pulled again: the page's secrets are known to be on the device, nothing is written.
    with CaptureQueriesContext(connection) as queries:
        again = Device(bob.http, bob.workspace, client_id=bob.client_id).pull_page(limit=500)
    assert len(again["changes"]) == 3
    assert not [q for q in queries if "INSERT INTO sync_secretdelivery" in q["sql"]]
    assert len(_ledger(team)) == 3


def test_the_lookup_of_recorded_deliveries_probes_the_page_rows_only(team: Team) -> None:
    """What a device already holds is looked up row by row of the page through the unique
    key, never by reading everything the device received (that grows with its history)."""
    from sync.selectors import _RECORDED_SQL

    cid, _, _ = _plant(device(team, "owner"))
    bob = device(team, "member")
    bob.pull_all()
    with (
        db_context(workspace_id=team.workspace.pk, user_id=team.member.pk),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "EXPLAIN " + _RECORDED_SQL,
            [["connection"], [cid], str(team.workspace.pk), str(team.member.pk), bob.client_id],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Nested Loop" in plan, plan
    assert "sync_delivery_unique" in plan, plan
    assert "row_id = p.row_id" in plan, plan


def test_the_ledger_holds_no_value(team: Team) -> None:
    _, canaries, _ = _plant(device(team, "owner"))
    device(team, "member").pull_all()
    assert _ledger(team)
    for value in canaries.values():
        assert "sync_secretdelivery" not in all_tables_containing(value)


def test_the_app_role_cannot_rewrite_the_ledger(team: Team) -> None:
    _plant(device(team, "owner"))
    device(team, "member").pull_all()
    for statement in (
        "UPDATE sync_secretdelivery SET secret_version = 0",
        "DELETE FROM sync_secretdelivery",
    ):
        with (
            db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk),
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert len(_ledger(team)) == 1


def test_the_ledger_is_bound_to_its_workspace(team: Team) -> None:
    _plant(device(team, "owner"))
    device(team, "member").pull_all()
    assert _ledger(team)
    with db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk):
        assert not SecretDelivery.objects.exists()
    with db_context(workspace_id=None, user_id=team.member.pk):
        assert not SecretDelivery.objects.exists()


# --- GET connections/{id}/secret-holders ---------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403), ("outsider", 404)],
)
def test_secret_holders_roles(team: Team, role: str, status: int) -> None:
    cid, canaries, _ = _plant(device(team, "owner"))
    device(team, "member").pull_all()
    response = _holders(team, role, cid)
    assert response.status_code == status, response.content
    body = response.content.decode()
    assert not any(value in body for value in canaries.values())
    if status != 200:
        assert response.json()["error"]["code"] in ("permission_denied", "not_found")


def test_secret_holders_of_an_unknown_or_foreign_connection_is_404(team: Team) -> None:
    assert _holders(team, "owner", new_id()).status_code == 404
    charlie = device(team, "outsider", workspace=team.other_workspace)
    theirs = new_id()
    fields = {"name": "c", "engine": "postgres", "password": "x"}
    charlie.push(charlie.mutation("connection", theirs, fields))
    Device(charlie.http, team.other_workspace).pull_all()
    assert _holders(team, "owner", theirs).status_code == 404
    assert _holders(team, "outsider", theirs, workspace=team.other_workspace).status_code == 200


def test_anonymous_gets_401(team: Team) -> None:
    from rest_framework.test import APIClient

    cid, _, _ = _plant(device(team, "owner"))
    response = APIClient().get(
        f"/api/v1/workspaces/{team.workspace.pk}/connections/{cid}/secret-holders"
    )
    assert response.status_code == 401


def test_secret_holders_names_every_device_and_what_it_holds(team: Team) -> None:
    alice = device(team, "owner")
    cid, _, version = _plant(alice)
    bob = device(team, "member")
    bob.pull_all()
    adam = device(team, "admin")
    adam.pull_all()
    out = alice.push(alice.mutation("connection", cid, {"password": canary()}, base=version))
    rotated = out["results"][0]["version"]
    adam.pull_all()  # adam has the new password, bob still the old one
    assert (
        team.client("member")
        .post(f"/api/v1/workspaces/{team.workspace.pk}/connections/{cid}/reveal")
        .status_code
        == 200
    )
    # Bob loses his laptop: the device is forgotten, it still holds what it received.
    forgot = bob.http.delete(sync_url(team.workspace, f"devices/{bob.client_id}"), **HEADERS)
    assert forgot.status_code == 204

    data = _holders(team, "admin", cid).json()
    assert data["entity"] == "connection"
    assert data["id"] == cid
    assert data["current_secret_version"] == rotated
    by_client = {d["client_id"]: d for d in data["devices"]}
    assert set(by_client) == {bob.client_id, adam.client_id}

    lost = by_client[bob.client_id]
    assert lost["registered"] is False
    assert lost["device"] is None
    assert lost["holds_current"] is False
    assert lost["user"] == {"id": str(team.member.pk), "email": team.member.email, "role": "member"}
    assert [d["secret_version"] for d in lost["deliveries"]] == [version]

    current = by_client[adam.client_id]
    assert current["registered"] is True
    assert current["holds_current"] is True
    assert current["last_pull_at"] is not None
    assert [d["secret_version"] for d in current["deliveries"]] == [version, rotated]
    assert all(d["conflict_id"] is None for d in current["deliveries"])

    (reveal,) = data["rest_deliveries"]
    assert reveal["action"] == "connection.secrets_revealed"
    assert reveal["user"]["id"] == str(team.member.pk)


def test_a_removed_member_stays_a_holder(team: Team) -> None:
    cid, _, _ = _plant(device(team, "owner"))
    device(team, "member").pull_all()
    response = team.client("owner").delete(
        f"/api/v1/workspaces/{team.workspace.pk}/members/{team.member.pk}"
    )
    assert response.status_code == 204, response.content
    (holder,) = _holders(team, "owner", cid).json()["devices"]
    assert holder["user"]["id"] == str(team.member.pk)
    assert holder["user"]["role"] is None


def test_a_deleted_connection_still_answers_who_holds_its_secrets(team: Team) -> None:
    alice = device(team, "owner")
    cid, _, version = _plant(alice)
    device(team, "member").pull_all()
    alice.push(alice.mutation("connection", cid, op="delete", base=version))
    data = _holders(team, "owner", cid).json()
    assert data["current_secret_version"] is None
    assert len(data["devices"]) == 1


def test_an_export_with_secrets_is_a_rest_delivery(team: Team) -> None:
    cid, _, _ = _plant(device(team, "owner"))
    exported = team.client("member").get(
        f"/api/v1/workspaces/{team.workspace.pk}/export", {"include_secrets": "true"}
    )
    assert exported.status_code == 200
    plain = team.client("member").get(f"/api/v1/workspaces/{team.workspace.pk}/export")
    assert plain.status_code == 200
    (export,) = _holders(team, "owner", cid).json()["rest_deliveries"]
    assert export["action"] == "data.exported"


def test_secret_holders_is_in_the_schema(client: Any) -> None:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    path = "/api/v1/workspaces/{workspace_id}/connections/{connection_id}/secret-holders"
    operation = schema["paths"][path]["get"]
    assert operation["operationId"] == "connections_secret_holders"
    assert "X-Sync-Protocol" not in str(operation.get("parameters", []))
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(component["properties"]) == {
        "entity",
        "id",
        "current_secret_version",
        "devices",
        "rest_deliveries",
    }


@pytest.mark.django_db(transaction=True)
def test_a_pull_outside_a_test_transaction_records_its_deliveries(team: Team) -> None:
    """The service's own path: the page is read in a REPEATABLE READ transaction, the ledger
    written in a short transaction of its own before the answer."""
    cid, _, version = _plant(device(team, "owner"))
    bob = device(team, "member")
    bob.pull_all()
    _fresh_pull(bob)
    (row,) = _ledger(team, row_id=cid)
    assert (row.client_id, row.secret_version) == (bob.client_id, version)
