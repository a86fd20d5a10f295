"""Changing the email address goes through allauth's verified flow; passkeys and the headless
spec are wired."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress

from tests.accounts.conftest import PASSWORD, Client, app_login, bearer, code_from_mail

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


def test_change_email_needs_reauthentication_and_the_code(
    client: Client, alice: Any, charlie: Any, mailoutbox: list[Any]
) -> None:
    access = app_login(client, "alice@example.com")["access_token"]
    new = {"email": "alice.new@example.com"}
    response = client.post(f"{APP}/account/email", new, format="json", **bearer(access))
    assert response.status_code == 401  # reauthenticate first
    client.post(
        f"{APP}/auth/reauthenticate", {"password": PASSWORD}, format="json", **bearer(access)
    )
    response = client.post(f"{APP}/account/email", new, format="json", **bearer(access))
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"  # not before the new address is verified

    code = code_from_mail(mailoutbox, "alice.new@example.com")
    response = client.post(
        f"{APP}/auth/email/verify", {"key": code}, format="json", **bearer(access)
    )
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.email == "alice.new@example.com"
    assert list(EmailAddress.objects.filter(user=alice).values_list("email", flat=True)) == [
        "alice.new@example.com"
    ]
    notice = next(m for m in mailoutbox if "address of your" in m.subject)
    assert notice.to == ["alice@example.com"]  # the old address hears of it
    # The outsider's address cannot be taken.
    client.post(
        f"{APP}/auth/reauthenticate", {"password": PASSWORD}, format="json", **bearer(access)
    )
    response = client.post(
        f"{APP}/account/email", {"email": "charlie@example.com"}, format="json", **bearer(access)
    )
    # Same answer as for a free address (no enumeration), and nothing is stored.
    assert response.status_code == 200
    assert not EmailAddress.objects.filter(user=alice, email="charlie@example.com").exists()
    # allauth mails a code to that address all the same; even with it, alice cannot take it.
    stolen = code_from_mail(mailoutbox, "charlie@example.com")
    response = client.post(
        f"{APP}/auth/email/verify", {"key": stolen}, format="json", **bearer(access)
    )
    assert response.status_code in (400, 409), response.content
    assert EmailAddress.objects.get(email="charlie@example.com").user == charlie
    alice.refresh_from_db()
    assert alice.email == "alice.new@example.com"
    assert EmailAddress.objects.get(email="charlie@example.com").user == charlie


def test_passkey_login_is_offered_to_the_browser(client: Client) -> None:
    config = client.get("/_allauth/browser/v1/config").json()["data"]
    assert "webauthn" in config["mfa"]["supported_types"]
    assert config["mfa"]["passkey_login_enabled"] is True
    response = client.get("/_allauth/browser/v1/auth/webauthn/login")
    assert response.status_code == 200, response.content
    assert "request_options" in response.json()["data"]


def test_headless_spec_is_served(client: Client) -> None:
    response = client.get("/_allauth/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/_allauth/app/v1/tokens/refresh" in paths
    assert "/_allauth/{client}/v1/auth/login" in paths
