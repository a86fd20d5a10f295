"""Every auth rate limit trips, with the right error shape: allauth's on /_allauth/, ours on
/api/v1/. Counters live in Redis (the default cache)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings as django_settings

from tests.accounts.conftest import (
    PASSWORD,
    Client,
    app_login,
    bearer,
    code_from_mail,
    pkce_pair,
    session_token,
    totp_code,
)

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


@pytest.fixture
def limits(settings: Any) -> Any:
    def set_limit(action: str, rate: str) -> None:
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, action: rate}

    return set_limit


def allauth_429(response: Any) -> None:
    assert response.status_code == 429, response.content
    assert response.json()["status"] == 429


def ours_429(response: Any) -> None:
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"]
    assert response["Retry-After"]


def login(client: Client, password: str, email: str = "alice@example.com") -> Any:
    return client.post(f"{APP}/auth/login", {"email": email, "password": password}, format="json")


def test_configured_limits_are_in_force() -> None:
    rates = django_settings.ACCOUNT_RATE_LIMITS
    assert rates["login_failed"] == "10/m/ip,5/5m/key"
    for action in ("login", "signup", "confirm_email", "reset_password", "guest_create"):
        assert rates[action]


def test_failed_logins_lock_the_account_out(client: Client, alice: Any, charlie: Any) -> None:
    for _ in range(5):
        assert login(client, "wrong password").status_code == 400
    # Locked: even the right password is refused for a while (allauth answers 400 here)…
    locked = login(client, PASSWORD)
    assert locked.status_code == 400
    assert locked.json()["errors"][0]["code"] == "too_many_login_attempts"
    # …for this account only: the outsider signs in from the same IP.
    assert login(client, PASSWORD, "charlie@example.com").status_code == 200


def test_login_per_ip(client: Client, alice: Any, limits: Any) -> None:
    limits("login", "2/m/ip")
    assert login(client, PASSWORD).status_code == 200
    assert login(client, PASSWORD).status_code == 200
    allauth_429(login(client, PASSWORD))


def test_signup_per_ip(client: Client, limits: Any) -> None:
    limits("signup", "2/m/ip")
    for n in range(2):
        response = client.post(
            f"{APP}/auth/signup",
            {"email": f"s{n}@example.com", "password": PASSWORD},
            format="json",
        )
        assert response.status_code == 401
    allauth_429(
        client.post(
            f"{APP}/auth/signup", {"email": "s9@example.com", "password": PASSWORD}, format="json"
        )
    )


def test_verification_code_resend_and_attempts(client: Client, mailoutbox: list[Any]) -> None:
    response = client.post(
        f"{APP}/auth/signup", {"email": "v@example.com", "password": PASSWORD}, format="json"
    )
    token = response.json()["meta"]["session_token"]
    code = code_from_mail(mailoutbox, "v@example.com")
    # Resend: one per 30 s per address.
    allauth_429(client.post(f"{APP}/auth/email/verify/resend", **session_token(token)))
    # Attempts: the fifth wrong code ends the verification; the right one no longer works.
    for _ in range(5):
        response = client.post(
            f"{APP}/auth/email/verify", {"key": "999999"}, format="json", **session_token(token)
        )
        assert response.status_code in (400, 409)
    response = client.post(
        f"{APP}/auth/email/verify", {"key": code}, format="json", **session_token(token)
    )
    assert response.status_code in (401, 409), response.content


def test_password_reset_requests_and_code_attempts(
    client: Client, alice: Any, mailoutbox: list[Any]
) -> None:
    for _ in range(5):
        response = client.post(
            f"{APP}/auth/password/request", {"email": "alice@example.com"}, format="json"
        )
        assert response.status_code == 401
    allauth_429(
        client.post(f"{APP}/auth/password/request", {"email": "alice@example.com"}, format="json")
    )
    token = response.json()["meta"]["session_token"]
    code = code_from_mail(mailoutbox, "alice@example.com")
    for _ in range(3):
        client.get(
            f"{APP}/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY="000000", **session_token(token)
        )
    response = client.get(
        f"{APP}/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY=code, **session_token(token)
    )
    assert response.status_code in (400, 409), response.content


def test_second_factor_codes_are_limited(client: Client, alice: Any) -> None:
    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    token = login(client, PASSWORD).json()["meta"]["session_token"]
    for _ in range(5):
        response = client.post(
            f"{APP}/auth/2fa/authenticate",
            {"code": "000000"},
            format="json",
            **session_token(token),
        )
        assert response.status_code == 400
    response = client.post(
        f"{APP}/auth/2fa/authenticate",
        {"code": totp_code(secret)},
        format="json",
        **session_token(token),
    )
    assert response.status_code in (400, 429), response.content
    if response.status_code == 400:
        assert response.json()["errors"][0]["code"] == "too_many_login_attempts"


def test_reauthentication_and_password_change_per_user(
    client: Client, alice: Any, limits: Any
) -> None:
    limits("reauthenticate", "2/m/user")
    access = app_login(client, "alice@example.com")["access_token"]
    for _ in range(2):
        client.post(
            f"{APP}/auth/reauthenticate", {"password": "nope"}, format="json", **bearer(access)
        )
    allauth_429(
        client.post(
            f"{APP}/auth/reauthenticate", {"password": PASSWORD}, format="json", **bearer(access)
        )
    )


def test_guest_creation_per_ip(make_client: Any, limits: Any, settings: Any) -> None:
    limits("guest_create", "2/h/ip")
    client = make_client()
    assert client.post("/api/v1/auth/guest").status_code == 201
    assert client.post("/api/v1/auth/guest").status_code == 201
    ours_429(client.post("/api/v1/auth/guest"))

    # Fly-Client-IP is ignored unless the deployment trusts it…
    ours_429(client.post("/api/v1/auth/guest", HTTP_FLY_CLIENT_IP="203.0.113.7"))
    # …and when trusted, it is the client's address.
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    assert client.post("/api/v1/auth/guest", HTTP_FLY_CLIENT_IP="203.0.113.7").status_code == 201
    assert client.post("/api/v1/auth/guest", HTTP_FLY_CLIENT_IP="203.0.113.8").status_code == 201


def test_guest_upgrade_per_user(client: Client, limits: Any) -> None:
    limits("guest_upgrade", "1/h/user")
    access = client.post("/api/v1/auth/guest").json()["access_token"]
    payload = {"email": "u1@example.com", "password": PASSWORD}
    assert (
        client.post(
            "/api/v1/account/guest/upgrade", payload, format="json", **bearer(access)
        ).status_code
        == 202
    )
    ours_429(client.post("/api/v1/account/guest/upgrade", payload, format="json", **bearer(access)))


def test_desktop_oauth_endpoints_per_ip(client: Client, limits: Any, settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APP": {"client_id": "id", "secret": "s", "key": ""}}
    }
    limits("desktop_oauth_start", "1/m/ip")
    limits("desktop_oauth_token", "1/m/ip")
    _, challenge = pkce_pair()
    query = {"provider": "google", "code_challenge": challenge}
    assert client.get("/api/v1/auth/desktop/oauth/start", query).status_code == 302
    ours_429(client.get("/api/v1/auth/desktop/oauth/start", query))
    body = {"code": "x", "code_verifier": "v" * 43}
    assert client.post("/api/v1/auth/desktop/oauth/token", body, format="json").status_code == 400
    ours_429(client.post("/api/v1/auth/desktop/oauth/token", body, format="json"))


def test_verification_link_per_ip(client: Client, limits: Any) -> None:
    limits("confirm_email_link", "1/m/ip")
    body = {"key": "nope"}
    assert client.post("/api/v1/auth/email/verify-link", body, format="json").status_code == 400
    ours_429(client.post("/api/v1/auth/email/verify-link", body, format="json"))
