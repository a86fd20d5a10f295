"""The desktop (headless `app` client) end to end, over HTTP, with the real rendered emails."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator

from tests.accounts.conftest import (
    PASSWORD,
    Client,
    bearer,
    code_from_mail,
    session_token,
    totp_code,
)

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


def test_signup_verify_2fa_login_refresh_logout(
    client: Client, mailoutbox: list[Any], charlie: Any
) -> None:
    # Sign up: allauth asks for the emailed code.
    response = client.post(
        f"{APP}/auth/signup", {"email": "dana@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 401, response.content
    body = response.json()
    pending = [f for f in body["data"]["flows"] if f.get("is_pending")]
    assert [f["id"] for f in pending] == ["verify_email"]
    token = body["meta"]["session_token"]
    assert "access_token" not in body["meta"]

    code = code_from_mail(mailoutbox, "dana@example.com")
    assert len(code) == 6
    assert code in mailoutbox[-1].subject

    # A wrong code is refused in allauth's shape; the right one signs in with tokens.
    response = client.post(
        f"{APP}/auth/email/verify", {"key": "000000"}, format="json", **session_token(token)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["param"] == "key"
    response = client.post(
        f"{APP}/auth/email/verify", {"key": code}, format="json", **session_token(token)
    )
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    assert meta["is_authenticated"] is True
    access, refresh = meta["access_token"], meta["refresh_token"]
    assert response.json()["data"]["user"]["is_guest"] is False

    account = client.get("/api/v1/account", **bearer(access))
    assert account.status_code == 200, account.content
    assert account.json()["email"] == "dana@example.com"
    assert account.json()["email_verified"] is True
    assert account.json()["mfa_enabled"] is False
    user_id = account.json()["id"]
    assert any("Welcome" in m.subject for m in mailoutbox if "dana@example.com" in m.to)

    # Set up TOTP: allauth returns the secret; our endpoint draws it as a QR code.
    response = client.get(f"{APP}/account/authenticators/totp", **bearer(access))
    assert response.status_code == 404, response.content
    secret = response.json()["meta"]["secret"]
    qr = client.get("/api/v1/account/2fa/totp/qr", **bearer(access))
    assert qr.status_code == 200, qr.content
    assert qr.json()["secret"] == secret
    assert qr.json()["totp_url"].startswith("otpauth://totp/")
    assert qr.json()["qr_code"].startswith("data:image/svg+xml;base64,")
    # Turning 2FA on is a sensitive action: allauth wants a fresh password first.
    activate = {"code": totp_code(secret)}
    response = client.post(
        f"{APP}/account/authenticators/totp", activate, format="json", **bearer(access)
    )
    assert response.status_code == 401
    assert {"id": "reauthenticate"} in response.json()["data"]["flows"]
    response = client.post(
        f"{APP}/auth/reauthenticate", {"password": PASSWORD}, format="json", **bearer(access)
    )
    assert response.status_code == 200, response.content
    response = client.post(
        f"{APP}/account/authenticators/totp", activate, format="json", **bearer(access)
    )
    assert response.status_code == 200, response.content
    assert Authenticator.objects.filter(user_id=user_id, type="totp").exists()
    assert any("Two-factor authentication is on" in m.subject for m in mailoutbox)

    # Log out: the access token and the refresh token die at once.
    response = client.delete(f"{APP}/auth/session", **bearer(access))
    assert response.status_code == 401
    refused = client.get("/api/v1/account", **bearer(access))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"
    assert (
        client.post(f"{APP}/tokens/refresh", {"refresh_token": refresh}, format="json").status_code
        == 400
    )

    # Log in again: the second step is due.
    response = client.post(
        f"{APP}/auth/login", {"email": "dana@example.com", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 401, response.content
    flows = {f["id"]: f for f in response.json()["data"]["flows"]}
    assert flows["mfa_authenticate"]["is_pending"] is True
    assert "totp" in flows["mfa_authenticate"]["types"]
    token = response.json()["meta"]["session_token"]
    wrong = client.post(
        f"{APP}/auth/2fa/authenticate", {"code": "000000"}, format="json", **session_token(token)
    )
    assert wrong.status_code == 400
    response = client.post(
        f"{APP}/auth/2fa/authenticate",
        {"code": totp_code(secret, offset_steps=1)},
        format="json",
        **session_token(token),
    )
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    access, refresh = meta["access_token"], meta["refresh_token"]
    assert client.get("/api/v1/account", **bearer(access)).status_code == 200
    assert client.get("/api/v1/account", **session_token(meta["session_token"])).status_code == 200

    # Refresh rotates: the new pair works, the used refresh token is spent.
    response = client.post(f"{APP}/tokens/refresh", {"refresh_token": refresh}, format="json")
    assert response.status_code == 200, response.content
    new_access = response.json()["data"]["access_token"]
    new_refresh = response.json()["data"]["refresh_token"]
    assert new_refresh != refresh
    assert client.get("/api/v1/account", **bearer(new_access)).status_code == 200
    replay = client.post(f"{APP}/tokens/refresh", {"refresh_token": refresh}, format="json")
    assert replay.status_code == 400

    # The outsider's token never reaches this account.
    charlie_meta = client.post(
        f"{APP}/auth/login",
        {"email": "charlie@example.com", "password": PASSWORD},
        format="json",
    ).json()["meta"]
    assert (
        client.get("/api/v1/account", **bearer(charlie_meta["access_token"])).json()["email"]
        == "charlie@example.com"
    )

    # Logout; the old access token is refused.
    assert client.delete(f"{APP}/auth/session", **bearer(new_access)).status_code == 401
    response = client.get("/api/v1/account", **bearer(new_access))
    assert response.status_code == 401
    assert set(response.json()["error"]) >= {"code", "message", "request_id"}
    # …while charlie's session is untouched.
    assert client.get("/api/v1/account", **bearer(charlie_meta["access_token"])).status_code == 200
