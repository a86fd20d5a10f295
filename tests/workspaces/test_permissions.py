"""Every cell of docs/permissions.md: each role (and an outsider) against each action.

A cell is the status code the API answers. 401 on delete and transfer means "allowed, after a
recent reauthentication" (tests/workspaces/test_api.py goes through that flow); 409 on the
owner's leave means the last owner cannot leave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory, add_member
from workspaces import services
from workspaces.models import Membership

ROLES = ("owner", "admin", "member", "viewer", "outsider")


def _base(team: Any) -> str:
    return f"/api/v1/workspaces/{team.workspace.pk}"


def _invitation(team: Any) -> Any:
    from core.tenancy import db_context

    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        owner = Membership.objects.select_related("workspace", "user").get(
            workspace=team.workspace, user=team.owner
        )
        invitation, _ = services.invitation_create(
            membership=owner, email="newcomer@example.com", role="member"
        )
    return invitation


Action = Callable[[APIClient, Any], Any]

ACTIONS: dict[str, Action] = {
    "read workspace": lambda c, t: c.get(f"{_base(t)}/"),
    "update workspace": lambda c, t: c.patch(f"{_base(t)}/", {"name": "New"}, format="json"),
    "delete workspace": lambda c, t: c.delete(f"{_base(t)}/"),
    "transfer ownership": lambda c, t: c.post(
        f"{_base(t)}/transfer", {"user_id": str(t.admin.pk)}, format="json"
    ),
    "list members": lambda c, t: c.get(f"{_base(t)}/members/"),
    "change a member's role": lambda c, t: c.patch(
        f"{_base(t)}/members/{t.extra.pk}", {"role": "viewer"}, format="json"
    ),
    "remove a member": lambda c, t: c.delete(f"{_base(t)}/members/{t.extra.pk}"),
    "leave": lambda c, t: c.post(f"{_base(t)}/leave"),
    "list invitations": lambda c, t: c.get(f"{_base(t)}/invitations/"),
    "invite": lambda c, t: c.post(
        f"{_base(t)}/invitations/", {"email": "x@example.com", "role": "member"}, format="json"
    ),
    "revoke an invitation": lambda c, t: c.delete(f"{_base(t)}/invitations/{_invitation(t).pk}"),
    "resend an invitation": lambda c, t: c.post(
        f"{_base(t)}/invitations/{_invitation(t).pk}/resend"
    ),
    "list audit events": lambda c, t: c.get(f"{_base(t)}/audit-events/"),
}

# action: (owner, admin, member, viewer, outsider)
MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    "read workspace": (200, 200, 200, 200, 404),
    "update workspace": (200, 200, 403, 403, 404),
    "delete workspace": (401, 403, 403, 403, 404),
    "transfer ownership": (401, 403, 403, 403, 404),
    "list members": (200, 200, 200, 200, 404),
    "change a member's role": (200, 200, 403, 403, 404),
    "remove a member": (204, 204, 403, 403, 404),
    "leave": (409, 204, 204, 204, 404),
    "list invitations": (200, 200, 403, 403, 404),
    "invite": (201, 201, 403, 403, 404),
    "revoke an invitation": (204, 204, 403, 403, 404),
    "resend an invitation": (200, 200, 403, 403, 404),
    "list audit events": (200, 200, 403, 403, 404),
}


def test_matrix_covers_every_action() -> None:
    assert set(MATRIX) == set(ACTIONS)


def test_docs_table_matches_the_matrix() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "permissions.md").read_text()
    for action, statuses in MATRIX.items():
        row = f"| {action} | " + " | ".join(str(s) for s in statuses) + " |"
        assert row in text, f"docs/permissions.md lacks or disagrees on: {row}"


@pytest.mark.parametrize("action", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_cell(team: Any, role: str, action: str) -> None:
    team.extra = UserFactory(email="mike@example.com")
    add_member(team.workspace, team.extra, "member")
    client = APIClient()
    client.force_authenticate(team.user(role))
    response = ACTIONS[action](client, team)
    expected = MATRIX[action][ROLES.index(role)]
    assert response.status_code == expected, (role, action, response.content)
    if expected >= 400:
        assert "error" in response.json()
    if role == "outsider":
        # Not a hint of what exists: the same answer as for a workspace that doesn't exist.
        assert response.json()["error"]["code"] == "not_found"
