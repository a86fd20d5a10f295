"""Sync test helpers: a device talks to the API through the test client, with the protocol
header; the `team` fixture (owner alice, admin adam, member bob, viewer vera, outsider
charlie) comes from tests/workspaces/conftest.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.workspaces import conftest as _workspaces
from tests.workspaces.conftest import Team

team = _workspaces.team  # the fixture, shared with the workspaces tests

HEADERS = {"HTTP_X_SYNC_PROTOCOL": "1"}


def sync_url(workspace: Any, path: str) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/sync/{path}"


@dataclass
class Device:
    """One install of a client app: its own client_id and mutation counter."""

    http: APIClient
    workspace: Any
    client_id: str = field(default_factory=lambda: f"dev-{uuid.uuid4().hex[:12]}")
    next_mutation: int = 1
    cursor: str | None = None

    def mutation(
        self,
        entity: str,
        row_id: Any,
        fields: dict[str, Any] | None = None,
        *,
        op: str = "upsert",
        base: int | None = None,
    ) -> dict[str, Any]:
        mutation = {
            "mutation_id": self.next_mutation,
            "entity": entity,
            "id": str(row_id),
            "op": op,
            "base_version": base,
        }
        if fields is not None:
            mutation["fields"] = fields
        self.next_mutation += 1
        return mutation

    def push(self, *mutations: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        response = self.http.post(
            sync_url(self.workspace, "push"),
            {"client_id": self.client_id, "device": {"name": "test"}, "mutations": list(mutations)},
            format="json",
            **HEADERS,
        )
        assert response.status_code == expect, response.content
        return response.json()

    def pull_page(self, cursor: str | None = None, limit: int = 500) -> dict[str, Any]:
        params: dict[str, Any] = {"client_id": self.client_id, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = self.http.get(sync_url(self.workspace, "pull"), params, **HEADERS)
        assert response.status_code == 200, response.content
        return response.json()

    def pull_all(self) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        cursor = self.cursor
        while True:
            page = self.pull_page(cursor)
            changes.extend(page["changes"])
            cursor = page["cursor"]
            if not page["has_more"]:
                break
        self.cursor = cursor
        return changes


def device(team: Team, role: str = "owner", workspace: Any = None) -> Device:
    return Device(team.client(role), workspace or team.workspace)


@pytest.fixture
def alice(team: Team) -> Device:
    return device(team, "owner")


@pytest.fixture
def bob(team: Team) -> Device:
    return device(team, "member")


def new_id() -> str:
    return str(uuid.uuid4())
