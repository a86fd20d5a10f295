"""Secrets on the sync channels, by role (docs/permissions.md, "Secrets by role").

Canaries planted in every secret field of a connection, then read back through HTTP as every
role, as the application's database role: a viewer receives none on any sync channel (pull,
conflict records, GET conflicts, resolve); members and up receive them on their devices
(pull) only while the workspace's `sync_secrets` is on; the outsider gets 404.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from connections.models import SECRET_FIELDS
from core.tenancy import db_context
from tests.connections.helpers import canary
from tests.sync.conftest import HEADERS, Device, device, new_id, sync_url
from tests.workspaces.conftest import Team

ROLES = ("owner", "admin", "member", "viewer")


def _set(team: Team, **fields: Any) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        for key, value in fields.items():
            setattr(team.workspace, key, value)
        team.workspace.save()


def _plant(dev: Device) -> tuple[str, dict[str, str], int]:
    """A connection with a canary in every secret field: (id, canaries, version)."""
    cid = new_id()
    secrets = {name: canary(name) for name in SECRET_FIELDS}
    out = dev.push(
        dev.mutation("connection", cid, {"name": "prod", "engine": "postgres", **secrets})
    )
    assert out["results"][0]["status"] == "applied"
    return cid, secrets, out["results"][0]["version"]


def _raw_pull(dev: Device) -> str:
    """Every page of a pull from scratch, as the bytes the client received."""
    bodies, cursor = [], None
    while True:
        params: dict[str, Any] = {"client_id": dev.client_id, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = dev.http.get(sync_url(dev.workspace, "pull"), params, **HEADERS)
        assert response.status_code == 200, response.content
        bodies.append(response.content.decode())
        page = response.json()
        cursor = page["cursor"]
        if not page["has_more"]:
            return "\n".join(bodies)


def _found(body: str, canaries: dict[str, str]) -> set[str]:
    return {name for name, value in canaries.items() if value in body}


def _secret_conflict(team: Team) -> tuple[str, dict[str, str], dict[str, str]]:
    """An open conflict on a connection's password (manual policy): the server side holds one
    canary, the client side another. (connection id, server canaries, client canaries)"""
    _set(team, sync_conflict_policy="manual")
    alice, bob = device(team, "owner"), device(team, "member")
    cid, _, base = _plant(alice)
    server = {"password": canary("server-password")}
    client = {"password": canary("client-password")}
    alice.push(alice.mutation("connection", cid, server, base=base))
    out = bob.push(bob.mutation("connection", cid, client, base=base))
    assert out["results"][0]["status"] == "conflict"
    return cid, server, client


# --- pull -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sync_secrets", [True, False])
@pytest.mark.parametrize("role", ROLES)
def test_pull_carries_secrets_to_members_and_up_only_while_the_workspace_allows(
    team: Team, role: str, sync_secrets: bool
) -> None:
    _, canaries, _ = _plant(device(team, "owner"))
    _set(team, sync_secrets=sync_secrets)  # turned off later: the server still holds them
    body = _raw_pull(device(team, role))
    assert '"entity": "connection"' in body or '"entity":"connection"' in body
    expected = set(canaries) if sync_secrets and role != "viewer" else set()
    assert _found(body, canaries) == expected


def test_the_outsider_pulls_nothing(team: Team) -> None:
    _, canaries, _ = _plant(device(team, "owner"))
    charlie = device(team, "outsider")
    response = charlie.http.get(
        sync_url(team.workspace, "pull"), {"client_id": charlie.client_id}, **HEADERS
    )
    assert response.status_code == 404
    assert _found(response.content.decode(), canaries) == set()


# --- conflict records -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_get_conflicts_shows_no_side_of_a_secret_conflict(team: Team, role: str) -> None:
    """GET conflicts is not tied to a device, so no delivery could be recorded: it never carries
    secret values, to any role. The record still says which fields conflicted."""
    _, server, client = _secret_conflict(team)
    dev = device(team, role)
    response = dev.http.get(sync_url(team.workspace, "conflicts"), {"status": "all"}, **HEADERS)
    assert response.status_code == 200
    body = response.content.decode()
    assert _found(body, {**server, **{"c": client["password"]}}) == set()
    (record,) = response.json()["results"]
    assert record["conflicting_fields"] == ["password"]
    assert "password" not in record["client_fields"]
    assert "password" not in record["server_fields"]


@pytest.mark.parametrize("role", ROLES)
def test_a_pulled_secret_conflict_carries_its_sides_to_members_devices_only(
    team: Team, role: str
) -> None:
    _, server, client = _secret_conflict(team)
    body = _raw_pull(device(team, role))
    records = [
        change["data"]
        for page in body.split("\n")
        for change in json.loads(page)["changes"]
        if change["entity"] == "conflict"
    ]
    assert len(records) == 1
    both = {"server": server["password"], "client": client["password"]}
    assert _found(body, both) == (set() if role == "viewer" else {"server", "client"})


def test_the_resolve_response_carries_no_secret(team: Team) -> None:
    _, server, client = _secret_conflict(team)
    bob = device(team, "member")
    (record,) = bob.http.get(sync_url(team.workspace, "conflicts"), **HEADERS).json()["results"]
    response = bob.http.post(
        sync_url(team.workspace, f"conflicts/{record['id']}/resolve"),
        {"resolution": "keep_client"},
        format="json",
        **HEADERS,
    )
    assert response.status_code == 200, response.content
    both = {"server": server["password"], "client": client["password"]}
    assert _found(response.content.decode(), both) == set()
    # The choice was applied all the same: the member's device pulls the client's password.
    assert client["password"] in _raw_pull(bob)


# --- push and resolve: what a device may send -----------------------------------------------


def test_a_viewer_cannot_push_a_secret(team: Team) -> None:
    alice = device(team, "owner")
    cid, canaries, base = _plant(alice)
    vera = device(team, "viewer")
    replacement = canary("viewer-password")
    out = vera.push(vera.mutation("connection", cid, {"password": replacement}, base=base))
    assert out["results"][0]["status"] == "rejected"
    assert out["results"][0]["error"]["code"] == "forbidden"
    body = _raw_pull(alice)
    assert replacement not in body
    assert canaries["password"] in body


def test_a_merged_resolution_drops_secrets_while_the_workspace_keeps_them_off_devices(
    team: Team,
) -> None:
    _, server, _ = _secret_conflict(team)
    _set(team, sync_secrets=False)
    bob = device(team, "member")
    (record,) = bob.http.get(sync_url(team.workspace, "conflicts"), **HEADERS).json()["results"]
    sent = canary("merged-password")
    response = bob.http.post(
        sync_url(team.workspace, f"conflicts/{record['id']}/resolve"),
        {"resolution": "merged", "fields": {"password": sent, "host": "merged-host"}},
        format="json",
        **HEADERS,
    )
    assert response.status_code == 200, response.content
    _set(team, sync_secrets=True)
    body = _raw_pull(device(team, "owner"))
    assert "merged-host" in body
    assert sent not in body
    assert server["password"] in body  # the row kept the secret it had
