"""Workspace API flows: create and list, invitations end to end, transfer and delete after
reauthentication, the audit log, the personal workspace, account deletion rules, and the
operators' admin path. Charlie, the outsider, gets nothing anywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from core.tenancy import db_context
from tests.factories import UserFactory
from workspaces.models import AuditEvent, Invitation, Membership, Workspace

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _audit_actions(workspace: Any, user: Any) -> list[str]:
    with db_context(workspace_id=workspace.pk, user_id=user.pk):
        return list(
            AuditEvent.objects.filter(workspace_id=workspace.pk)
            .order_by("id")
            .values_list("action", flat=True)
        )


def test_create_and_list_my_workspaces(team: Any) -> None:
    client = _client(team.member)
    created = client.post("/api/v1/workspaces/", {"name": "Side project"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["role"] == "owner"
    listed = client.get("/api/v1/workspaces/")
    assert listed.status_code == 200
    names = {w["name"]: w["role"] for w in listed.json()["results"]}
    assert names == {"Acme": "member", "Side project": "owner"}
    # Charlie sees only his own.
    others = _client(team.outsider).get("/api/v1/workspaces/").json()["results"]
    assert [w["name"] for w in others] == ["Charlie's"]


def test_create_rejects_bad_input(team: Any) -> None:
    client = _client(team.member)
    response = client.post("/api/v1/workspaces/", {"name": ""}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]
    response = client.post("/api/v1/workspaces/", {"name": "x" * 101}, format="json")
    assert response.status_code == 400


def test_unauthenticated_requests_get_401_or_403() -> None:
    response = APIClient().get("/api/v1/workspaces/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_update_settings_is_audited(team: Any) -> None:
    response = _client(team.admin).patch(
        f"/api/v1/workspaces/{team.workspace.pk}/",
        {"sync_conflict_policy": "manual", "sync_secrets": False},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["sync_conflict_policy"] == "manual"
    assert "workspace.updated" in _audit_actions(team.workspace, team.owner)
    bad = _client(team.admin).patch(
        f"/api/v1/workspaces/{team.workspace.pk}/",
        {"sync_conflict_policy": "yolo"},
        format="json",
    )
    assert bad.status_code == 400


def _invite(team: Any, email: str = "dana@example.com", role: str = "member") -> str:
    mail.outbox.clear()
    response = _client(team.admin).post(
        f"/api/v1/workspaces/{team.workspace.pk}/invitations/",
        {"email": email, "role": role},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _token_from_email(django_capture_on_commit_callbacks: Any, team: Any, email: str) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(team, email)
    return _token_from_outbox(email)


def _token_from_outbox(email: str) -> str:
    import re

    messages = [m for m in mail.outbox if email in m.to]
    assert messages, "no invitation email was sent"
    match = re.search(r"/invitations/([0-9a-f]{32}\.[A-Za-z0-9_\-]+)", messages[-1].body)
    assert match, messages[-1].body
    return match.group(1)


def test_invitation_accept_flow(team: Any, django_capture_on_commit_callbacks: Any) -> None:
    dana = UserFactory(email="dana@example.com")
    token = _token_from_email(django_capture_on_commit_callbacks, team, "dana@example.com")
    client = _client(dana)
    preview = client.post("/api/v1/invitations/preview", {"token": token}, format="json")
    assert preview.status_code == 200
    assert preview.json()["workspace_name"] == "Acme"
    accepted = client.post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["role"] == "member"
    # The token is single-use.
    again = client.post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invitation_closed"
    actions = _audit_actions(team.workspace, team.owner)
    assert "invitation.created" in actions
    assert "invitation.accepted" in actions


def test_invitation_needs_the_invited_verified_address(
    team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token = _token_from_email(django_capture_on_commit_callbacks, team, "erin@example.com")
    # Charlie is signed in but was not invited.
    response = _client(team.outsider).post(
        "/api/v1/invitations/accept", {"token": token}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "email_mismatch"
    # Erin with the address not yet verified is refused too.
    from allauth.account.models import EmailAddress

    erin = UserFactory(email="erin@example.com")
    EmailAddress.objects.filter(user=erin).update(verified=False)
    response = _client(erin).post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert response.status_code == 403


def test_expired_revoked_forged_and_resent_tokens(
    team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    frank = UserFactory(email="frank@example.com")
    token = _token_from_email(django_capture_on_commit_callbacks, team, "frank@example.com")
    client = _client(frank)
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        Invitation.objects.filter(email="frank@example.com").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    expired = client.post("/api/v1/invitations/accept", {"token": token}, format="json")
    assert expired.status_code == 410
    # Resending makes a new token and restarts the clock; the old token stops working.
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        invitation = Invitation.objects.get(email="frank@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        resent = _client(team.admin).post(
            f"/api/v1/workspaces/{team.workspace.pk}/invitations/{invitation.pk}/resend"
        )
    assert resent.status_code == 200
    new_token = _token_from_outbox("frank@example.com")
    assert new_token != token
    assert (
        client.post("/api/v1/invitations/accept", {"token": token}, format="json").status_code
        == 404
    )
    # Revoked: refused.
    assert (
        _client(team.admin)
        .delete(f"/api/v1/workspaces/{team.workspace.pk}/invitations/{invitation.pk}")
        .status_code
        == 204
    )
    revoked = client.post("/api/v1/invitations/accept", {"token": new_token}, format="json")
    assert revoked.status_code == 409
    # Garbage and forged tokens: 404, or 400 for the wrong shape.
    for bad in ("nonsense", f"{team.workspace.pk.hex}.forged", ""):
        response = client.post("/api/v1/invitations/accept", {"token": bad}, format="json")
        assert response.status_code in (400, 404), (bad, response.content)


def test_decline(team: Any, django_capture_on_commit_callbacks: Any) -> None:
    gina = UserFactory(email="gina@example.com")
    token = _token_from_email(django_capture_on_commit_callbacks, team, "gina@example.com")
    response = _client(gina).post("/api/v1/invitations/decline", {"token": token}, format="json")
    assert response.status_code == 204
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert Invitation.objects.get(email="gina@example.com").status == "declined"
        assert not Membership.objects.filter(user=gina).exists()


def test_duplicate_invitation_and_existing_member(team: Any) -> None:
    _invite(team, "hank@example.com")
    again = _client(team.admin).post(
        f"/api/v1/workspaces/{team.workspace.pk}/invitations/",
        {"email": "HANK@example.com", "role": "member"},
        format="json",
    )
    assert again.status_code == 409
    member = _client(team.admin).post(
        f"/api/v1/workspaces/{team.workspace.pk}/invitations/",
        {"email": "bob@example.com", "role": "member"},
        format="json",
    )
    assert member.status_code == 409
    assert member.json()["error"]["code"] == "already_member"


def test_member_limit_of_the_plan_is_enforced(team: Any) -> None:
    free = _client(team.outsider)  # Charlie's workspace is on the free plan: 2 members
    url = f"/api/v1/workspaces/{team.other_workspace.pk}/invitations/"
    assert free.post(url, {"email": "one@example.com"}, format="json").status_code == 201
    refused = free.post(url, {"email": "two@example.com"}, format="json")
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "plan_limit"
    assert error["limit"] == "members"


def test_admin_cannot_touch_owners(team: Any) -> None:
    client = _client(team.admin)
    base = f"/api/v1/workspaces/{team.workspace.pk}/members/{team.owner.pk}"
    assert client.patch(base, {"role": "member"}, format="json").status_code == 403
    assert client.delete(base).status_code == 403
    promote = client.patch(
        f"/api/v1/workspaces/{team.workspace.pk}/members/{team.member.pk}",
        {"role": "owner"},
        format="json",
    )
    assert promote.status_code == 403


def test_last_owner_cannot_demote_self_or_leave(team: Any) -> None:
    client = _client(team.owner)
    demote = client.patch(
        f"/api/v1/workspaces/{team.workspace.pk}/members/{team.owner.pk}",
        {"role": "admin"},
        format="json",
    )
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"


def test_audit_log_filters_and_outsiders(team: Any) -> None:
    _invite(team, "ivy@example.com")
    client = _client(team.owner)
    url = f"/api/v1/workspaces/{team.workspace.pk}/audit-events/"
    events = client.get(url, {"action": "invitation."}).json()["results"]
    assert [e["action"] for e in events] == ["invitation.created"]
    assert events[0]["actor_email"] == "adam@example.com"
    assert client.get(url, {"since": "yesterday"}).status_code == 400
    assert client.get(url, {"actor_id": "nope"}).status_code == 400
    assert _client(team.outsider).get(url).status_code == 404


def test_personal_workspace_is_created_for_every_new_user() -> None:
    from accounts import signals

    user = UserFactory(email="new@example.com")
    signals.user_registered.send(sender=None, user=user, request=None, method="email")
    signals.user_registered.send(sender=None, user=user, request=None, method="email")
    with db_context(workspace_id=None, user_id=user.pk):
        personal = Workspace.objects.filter(memberships__user=user, is_personal=True)
        assert personal.count() == 1
        assert Membership.objects.get(user=user).role == "owner"


def test_account_deletion_is_blocked_for_sole_owner_of_shared_workspace(team: Any) -> None:
    from accounts import hooks

    blockers = hooks.deletion_blockers(team.owner)
    assert [b.code for b in blockers] == ["sole_owner_of_shared_workspace"]
    assert "Acme" in blockers[0].message
    # Charlie's workspace has nobody else: no blocker, and it goes with his account.
    assert hooks.deletion_blockers(team.outsider) == []


def test_operator_sees_across_workspaces_in_admin_and_is_audited(team: Any, client: Any) -> None:
    staff = UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/workspaces/workspace/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme" in body
    assert "Charlie&#x27;s" in body or "Charlie's" in body
    with db_context(workspace_id=None, user_id=staff.pk):
        events = AuditEvent.objects.filter(action="operator.access", actor_id=staff.pk)
        assert events.filter(metadata__path="/admin/workspaces/workspace/").exists()


def test_staff_get_no_bypass_through_the_api(team: Any) -> None:
    staff = UserFactory(email="ops2@example.com", is_staff=True, is_superuser=True)
    client = _client(staff)
    assert client.get(f"/api/v1/workspaces/{team.workspace.pk}/").status_code == 404
    assert client.get("/api/v1/workspaces/").json()["results"] == []


def _app_login(email: str, password: str = "correct horse battery") -> dict[str, str]:
    """Sign in through allauth's headless app client, as the desktop does."""
    response = APIClient().post(
        "/_allauth/app/v1/auth/login", {"email": email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    return {"HTTP_AUTHORIZATION": f"Bearer {meta['access_token']}"}


def test_delete_needs_recent_reauthentication_then_shreds_keys(team: Any) -> None:
    from core.models import WorkspaceDataKey

    workspace_id = team.workspace.pk
    headers = _app_login("alice@example.com")
    client = APIClient()
    refused = client.delete(f"/api/v1/workspaces/{workspace_id}/", **headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "reauthentication_required"
    reauth = client.post(
        "/_allauth/app/v1/auth/reauthenticate",
        {"password": "correct horse battery"},
        format="json",
        **headers,
    )
    assert reauth.status_code == 200, reauth.content
    deleted = client.delete(f"/api/v1/workspaces/{workspace_id}/", **headers)
    assert deleted.status_code == 204, deleted.content
    with db_context(workspace_id=workspace_id, user_id=team.owner.pk):
        assert not Workspace.objects.filter(pk=workspace_id).exists()
        assert not WorkspaceDataKey.objects.filter(workspace_id=workspace_id).exists()
        assert AuditEvent.objects.filter(
            workspace_id=workspace_id, action="workspace.deleted"
        ).exists()


def test_transfer_after_reauthentication(team: Any) -> None:
    headers = _app_login("alice@example.com")
    client = APIClient()
    url = f"/api/v1/workspaces/{team.workspace.pk}/transfer"
    assert (
        client.post(url, {"user_id": str(team.admin.pk)}, format="json", **headers).status_code
        == 401
    )
    client.post(
        "/_allauth/app/v1/auth/reauthenticate",
        {"password": "correct horse battery"},
        format="json",
        **headers,
    )
    response = client.post(url, {"user_id": str(team.admin.pk)}, format="json", **headers)
    assert response.status_code == 200, response.content
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        roles = dict(Membership.objects.values_list("user__email", "role"))
    assert roles["adam@example.com"] == "owner"
    assert roles["alice@example.com"] == "admin"
    # Transfer to someone who is not a member: 404.
    charlie = client.post(url, {"user_id": str(team.outsider.pk)}, format="json", **headers)
    assert charlie.status_code == 403  # alice is no longer an owner


def test_sign_in_is_audited(team: Any) -> None:
    _app_login("bob@example.com")
    APIClient().post(
        "/_allauth/app/v1/auth/login",
        {"email": "bob@example.com", "password": "wrong-wrong"},
        format="json",
    )
    with db_context(workspace_id=None, user_id=team.member.pk):
        actions = set(
            AuditEvent.objects.filter(actor_id=team.member.pk).values_list("action", flat=True)
        )
    assert {"auth.signed_in", "auth.sign_in_failed"} <= actions


def test_failed_sign_in_for_an_unknown_address_is_audited_for_operators(team: Any) -> None:
    from django.db import transaction

    from core.tenancy import set_db_context

    response = APIClient().post(
        "/_allauth/app/v1/auth/login",
        {"email": "nobody@example.com", "password": "whatever-123"},
        format="json",
    )
    assert response.status_code == 400
    with transaction.atomic():
        set_db_context(workspace_id=None, user_id=None, operator_id=team.owner.pk)
        event = AuditEvent.objects.filter(action="auth.sign_in_failed", actor_id=None).last()
    assert event is not None
    assert event.metadata.get("email") == "nobody@example.com"
    # A signed-in member cannot read account-level events that are not theirs.
    with db_context(workspace_id=None, user_id=team.member.pk):
        assert not AuditEvent.objects.filter(action="auth.sign_in_failed", actor_id=None).exists()
