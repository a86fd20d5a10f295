"""Operators: find users, see guests and 2FA, deactivate (ending sessions and tokens), resend
verification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.contrib.auth import get_user_model

from tests.accounts.conftest import Client, app_login, bearer, make_user

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def operator(make_client: Callable[..., Client]) -> Client:
    staff = make_user("ops@example.com", "Ops")
    staff.is_staff = True
    staff.is_superuser = True
    staff.save()
    client = make_client()
    client.force_login(staff)
    return client


def test_user_list_search_guest_flag_and_2fa(operator: Client, alice: Any, charlie: Any) -> None:
    TOTP.activate(alice, generate_totp_secret())
    User.objects.create_user(email=None, is_guest=True, display_name="Guest")
    response = operator.get("/admin/accounts/user/", {"q": "alice"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "alice@example.com" in html
    assert "charlie@example.com" not in html
    assert operator.get("/admin/accounts/user/", {"is_guest__exact": "1"}).status_code == 200
    with_2fa = operator.get("/admin/accounts/user/", {"mfa": "on"}).content.decode()
    assert "alice@example.com" in with_2fa
    assert "charlie@example.com" not in with_2fa
    detail = operator.get(f"/admin/accounts/user/{alice.pk}/change/")
    assert detail.status_code == 200


def test_deactivate_ends_sessions_and_tokens(
    operator: Client, client: Client, alice: Any, charlie: Any
) -> None:
    alice_tokens = app_login(client, "alice@example.com")
    charlie_tokens = app_login(client, "charlie@example.com")
    response = operator.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "_selected_action": [str(alice.pk)]},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_active is False
    assert not UserSession.objects.filter(user=alice).exists()
    assert client.get("/api/v1/account", **bearer(alice_tokens["access_token"])).status_code == 401
    refresh = client.post(
        "/_allauth/app/v1/tokens/refresh",
        {"refresh_token": alice_tokens["refresh_token"]},
        format="json",
    )
    assert refresh.status_code == 400
    login = client.post(
        "/_allauth/app/v1/auth/login",
        {"email": "alice@example.com", "password": "correct horse battery"},
        format="json",
    )
    assert login.status_code != 200
    assert (
        client.get("/api/v1/account", **bearer(charlie_tokens["access_token"])).status_code == 200
    )


def test_resend_verification_sends_a_link(
    operator: Client, make_client: Callable[..., Client], mailoutbox: list[Any]
) -> None:
    user = User.objects.create_user(email="new@example.com", password="x" * 12)
    EmailAddress.objects.create(user=user, email="new@example.com", primary=True, verified=False)
    response = operator.post(
        "/admin/accounts/user/",
        {"action": "resend_verification", "_selected_action": [str(user.pk)]},
    )
    assert response.status_code == 302
    message = mailoutbox[-1]
    assert message.to == ["new@example.com"]
    key = message.body.split("/account/verify-email/")[1].split()[0]
    web = make_client()
    response = web.post("/api/v1/auth/email/verify-link", {"key": key}, format="json")
    assert response.status_code == 200, response.content
    assert EmailAddress.objects.get(user=user).verified is True


def test_operator_can_create_a_user(operator: Client) -> None:
    assert operator.get("/admin/accounts/user/add/").status_code == 200
    response = operator.post(
        "/admin/accounts/user/add/",
        {
            "email": "made@example.com",
            "usable_password": "true",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    assert response.status_code == 302
    made = User.objects.get(email="made@example.com")
    assert made.check_password("a long enough passphrase")
    assert operator.get(f"/admin/accounts/user/{made.pk}/change/").status_code == 200
