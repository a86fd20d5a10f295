"""The web app (headless `browser` client): cookies and CSRF, the same account flows."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.accounts.conftest import PASSWORD, Client, code_from_mail, totp_code

pytestmark = pytest.mark.django_db

BROWSER = "/_allauth/browser/v1"


@pytest.fixture
def browser(make_client: Callable[..., Client]) -> Client:
    return make_client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mozilla/5.0 (test) Firefox/140")


def csrf(client: Client) -> dict[str, Any]:
    if "csrftoken" not in client.cookies:
        assert client.get(f"{BROWSER}/config").status_code == 200
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_signup_verify_2fa_login_logout(
    browser: Client,
    make_client: Callable[..., Client],
    mailoutbox: list[Any],
    charlie: Any,
) -> None:
    response = browser.post(
        f"{BROWSER}/auth/signup",
        {"email": "erin@example.com", "password": PASSWORD},
        format="json",
        **csrf(browser),
    )
    assert response.status_code == 401, response.content
    assert "session_token" not in response.json().get("meta", {})  # cookies, not tokens
    code = code_from_mail(mailoutbox, "erin@example.com")
    response = browser.post(
        f"{BROWSER}/auth/email/verify", {"key": code}, format="json", **csrf(browser)
    )
    assert response.status_code == 200, response.content
    assert "access_token" not in response.json()["meta"]

    # Our API takes the session cookie; unsafe methods need the CSRF header.
    assert browser.get("/api/v1/account").json()["email"] == "erin@example.com"
    refused = browser.patch("/api/v1/account", {"display_name": "Erin"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] in {"csrf_failed", "permission_denied"}
    response = browser.patch(
        "/api/v1/account", {"display_name": "Erin"}, format="json", **csrf(browser)
    )
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Erin"

    # 2FA: reauthenticate, read the secret, activate.
    assert (
        browser.post(
            f"{BROWSER}/auth/reauthenticate", {"password": PASSWORD}, format="json", **csrf(browser)
        ).status_code
        == 200
    )
    secret = browser.get(f"{BROWSER}/account/authenticators/totp").json()["meta"]["secret"]
    assert browser.get("/api/v1/account/2fa/totp/qr").json()["secret"] == secret
    response = browser.post(
        f"{BROWSER}/account/authenticators/totp",
        {"code": totp_code(secret)},
        format="json",
        **csrf(browser),
    )
    assert response.status_code == 200, response.content
    recovery = browser.get(f"{BROWSER}/account/authenticators/recovery-codes")
    assert recovery.status_code == 200, recovery.content
    recovery_code = recovery.json()["data"]["unused_codes"][0]

    # Log out, log in: password then a recovery code.
    assert browser.delete(f"{BROWSER}/auth/session", **csrf(browser)).status_code == 401
    assert browser.get("/api/v1/account").status_code in (401, 403)
    response = browser.post(
        f"{BROWSER}/auth/login",
        {"email": "erin@example.com", "password": PASSWORD},
        format="json",
        **csrf(browser),
    )
    assert response.status_code == 401
    assert any(
        f["id"] == "mfa_authenticate" and f.get("is_pending")
        for f in response.json()["data"]["flows"]
    )
    response = browser.post(
        f"{BROWSER}/auth/2fa/authenticate", {"code": recovery_code}, format="json", **csrf(browser)
    )
    assert response.status_code == 200, response.content
    assert browser.get("/api/v1/account").json()["mfa_enabled"] is True

    # The outsider signs in elsewhere: erin's list and account stay erin's own.
    outsider = make_client()
    assert (
        outsider.post(
            f"{BROWSER}/auth/login",
            {"email": "charlie@example.com", "password": PASSWORD},
            format="json",
        ).status_code
        == 200
    )
    assert browser.get("/api/v1/account").json()["email"] == "erin@example.com"
    sessions = browser.get(f"{BROWSER}/auth/sessions").json()["data"]
    assert len(sessions) == 1
    assert sessions[0]["is_current"] is True
    assert "Firefox" in sessions[0]["user_agent"]

    assert browser.delete(f"{BROWSER}/auth/session", **csrf(browser)).status_code == 401
    unauthenticated = browser.get("/api/v1/account")
    assert unauthenticated.status_code in (401, 403)
    assert unauthenticated.json()["error"]["code"] == "not_authenticated"


def test_email_can_be_verified_by_link(
    make_client: Callable[..., Client], mailoutbox: list[Any]
) -> None:
    browser = make_client(enforce_csrf_checks=True)
    browser.post(
        f"{BROWSER}/auth/signup",
        {"email": "finn@example.com", "password": PASSWORD},
        format="json",
        **csrf(browser),
    )
    body = next(m for m in mailoutbox if "finn@example.com" in m.to).body
    key = re.search(r"/account/verify-email/(\S+)", body).group(1)  # type: ignore[union-attr]

    other_browser = make_client()
    bad = other_browser.post("/api/v1/auth/email/verify-link", {"key": "nope"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_verification_key"
    response = other_browser.post("/api/v1/auth/email/verify-link", {"key": key}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"email": "finn@example.com", "verified": True}

    # Verified: a plain login now completes.
    response = browser.post(
        f"{BROWSER}/auth/login",
        {"email": "finn@example.com", "password": PASSWORD},
        format="json",
        **csrf(browser),
    )
    assert response.status_code == 200, response.content
