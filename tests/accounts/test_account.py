"""My account: profile, export, deletion (reauthentication, vetoes from other apps)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model

from accounts import hooks
from accounts.signals import SecurityAction, security_event, user_deleting
from tests.accounts.conftest import PASSWORD, Client, app_login, bearer

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_profile_read_and_update(client: Client, alice: Any, charlie: Any) -> None:
    access = app_login(client, "alice@example.com")["access_token"]
    me = client.get("/api/v1/account", **bearer(access)).json()
    assert me["id"] == str(alice.pk)
    assert me["email"] == "alice@example.com"
    assert me["is_guest"] is False
    assert me["has_usable_password"] is True

    response = client.patch(
        "/api/v1/account",
        {"display_name": "Alice A.", "avatar_url": "https://cdn.example.com/a.png"},
        format="json",
        **bearer(access),
    )
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Alice A."
    charlie.refresh_from_db()
    assert charlie.display_name == "Charlie"  # the outsider is untouched

    bad = client.patch(
        "/api/v1/account",
        {"avatar_url": "http://insecure.example/a.png"},
        format="json",
        **bearer(access),
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    assert "avatar_url" in bad.json()["error"]["fields"]
    # The email is changed through allauth's verified flow, never here.
    client.patch("/api/v1/account", {"email": "x@example.com"}, format="json", **bearer(access))
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_unauthenticated_and_bad_tokens_get_the_api_error_shape(client: Client) -> None:
    response = client.get("/api/v1/account")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    response = client.get("/api/v1/account", **bearer("not-a-jwt"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    response = client.get("/api/v1/account", HTTP_X_SESSION_TOKEN="nope")
    assert response.status_code == 401


def test_export_contains_my_data_and_registered_sections(
    client: Client, alice: Any, charlie: Any
) -> None:
    TOTP.activate(alice, generate_totp_secret())

    def notes(user: Any) -> list[str]:
        return [f"note of {user.email}"]

    hooks.register_export_section("notes", notes)
    try:
        # The outsider's export: nothing of alice's (she has an authenticator) may appear.
        access = app_login(client, "charlie@example.com")["access_token"]
        response = client.get("/api/v1/account/export", **bearer(access))
    finally:
        hooks.unregister_export_section("notes")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["user"]["id"] == str(charlie.pk)
    assert data["email_addresses"] == [
        {"email": "charlie@example.com", "verified": True, "primary": True}
    ]
    assert data["notes"] == ["note of charlie@example.com"]
    assert data["mfa"] == []  # alice's authenticator is not charlie's
    assert len(data["sessions"]) == 1
    text = json.dumps(data)
    assert "alice" not in text
    assert charlie.password not in text

    with pytest.raises(ValueError, match="reserved"):
        hooks.register_export_section("user", notes)


def test_delete_needs_recent_reauthentication(client: Client, alice: Any, charlie: Any) -> None:
    meta = app_login(client, "alice@example.com")
    access = meta["access_token"]
    deleting: list[Any] = []
    events: list[str] = []

    def on_deleting(sender: Any, user: Any, **kwargs: Any) -> None:
        deleting.append(user.pk)

    def on_event(sender: Any, action: str, **kwargs: Any) -> None:
        events.append(action)

    user_deleting.connect(on_deleting)
    security_event.connect(on_event)
    try:
        response = client.delete("/api/v1/account", **bearer(access))
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "reauthentication_required"
        assert "reauthenticate" in error["flows"]

        assert (
            client.post(
                "/_allauth/app/v1/auth/reauthenticate",
                {"password": PASSWORD},
                format="json",
                **bearer(access),
            ).status_code
            == 200
        )
        response = client.delete("/api/v1/account", **bearer(access))
        assert response.status_code == 204, response.content
    finally:
        user_deleting.disconnect(on_deleting)
        security_event.disconnect(on_event)
    assert deleting == [alice.pk]
    assert SecurityAction.ACCOUNT_DELETED in events
    assert not User.objects.filter(pk=alice.pk).exists()
    assert client.get("/api/v1/account", **bearer(access)).status_code == 401
    assert User.objects.filter(pk=charlie.pk).exists()


def test_other_apps_can_veto_deletion(client: Client, alice: Any) -> None:
    def sole_owner(user: Any) -> hooks.DeletionBlocker | None:
        if user.email == "alice@example.com":
            return hooks.DeletionBlocker(
                code="sole_owner_of_shared_workspace",
                message="You are the only owner of Acme. Transfer ownership first.",
                data={"workspaces": ["Acme"]},
            )
        return None

    hooks.register_deletion_check(sole_owner)
    try:
        access = app_login(client, "alice@example.com")["access_token"]
        client.post(
            "/_allauth/app/v1/auth/reauthenticate",
            {"password": PASSWORD},
            format="json",
            **bearer(access),
        )
        response = client.delete("/api/v1/account", **bearer(access))
    finally:
        hooks.unregister_deletion_check(sole_owner)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "account_deletion_blocked"
    assert error["message"] == "You are the only owner of Acme. Transfer ownership first."
    assert error["blockers"] == [
        {
            "code": "sole_owner_of_shared_workspace",
            "message": "You are the only owner of Acme. Transfer ownership first.",
            "data": {"workspaces": ["Acme"]},
        }
    ]
    assert User.objects.filter(pk=alice.pk).exists()


def test_totp_qr_code_refuses_when_active_and_for_guests(client: Client, alice: Any) -> None:
    guest = client.post("/api/v1/auth/guest").json()
    response = client.get("/api/v1/account/2fa/totp/qr", **bearer(guest["access_token"]))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_required"

    access = app_login(client, "alice@example.com")["access_token"]
    first = client.get("/api/v1/account/2fa/totp/qr", **bearer(access)).json()
    again = client.get("/api/v1/account/2fa/totp/qr", **bearer(access)).json()
    assert first["secret"] == again["secret"]  # stable until activated
    assert "issuer=DB%20Workbench" in first["totp_url"]
    TOTP.activate(alice, first["secret"])
    response = client.get("/api/v1/account/2fa/totp/qr", **bearer(access))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "totp_active"
