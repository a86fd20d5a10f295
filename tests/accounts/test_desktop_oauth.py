"""Google/GitHub sign-in on the desktop: system browser, deep link, PKCE handoff.

The providers are answered at the HTTP boundary (tests.accounts.fakehttp); allauth's OAuth2
client, state checks and login pipeline run for real.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from accounts.signals import user_registered
from tests.accounts.conftest import Client, bearer, pkce_pair, session_token, totp_code
from tests.accounts.fakehttp import FakeHTTP

pytestmark = pytest.mark.django_db

GOOGLE_ID = "google-client-id.apps.googleusercontent.com"
PROVIDERS = {
    "google": {
        "APP": {"client_id": GOOGLE_ID, "secret": "google-secret", "key": ""},
        "SCOPE": ["openid", "email", "profile"],
        "OAUTH_PKCE_ENABLED": True,
    },
    "github": {"APP": {"client_id": "gh-id", "secret": "gh-secret", "key": ""}},
}
START = "/api/v1/auth/desktop/oauth/start"
TOKEN = "/api/v1/auth/desktop/oauth/token"


@pytest.fixture(autouse=True)
def _providers(settings: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = PROVIDERS


@pytest.fixture
def system_browser(make_client: Callable[..., Client]) -> Client:
    return make_client(HTTP_USER_AGENT="Mozilla/5.0 (Macintosh) Safari/605")


def google_answers(
    fake_http: FakeHTTP, email: str, verified: bool = True, sub: str = "g-1"
) -> None:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": GOOGLE_ID,
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": "Gina Google",
        "picture": "https://lh3.googleusercontent.com/a/pic",
        "iat": now,
        "exp": now + 600,
    }
    # Received straight from Google's token endpoint over TLS: allauth does not check the
    # signature (OIDC core 3.1.3.7), only issuer, audience and expiry.
    id_token = jwt.encode(claims, "not-checked-" + "x" * 32, algorithm="HS256")

    def token(call: Any) -> tuple[int, Any]:
        assert call.form["code"] == ["provider-code"]
        assert call.form["code_verifier"]  # allauth's own PKCE with Google
        return 200, {"access_token": "ya29.x", "expires_in": 3599, "id_token": id_token}

    fake_http.add("POST", "https://oauth2.googleapis.com/token", token)


def github_answers(fake_http: FakeHTTP, email: str, verified: bool) -> None:
    fake_http.add(
        "POST",
        "https://github.com/login/oauth/access_token",
        (200, {"access_token": "gho_x", "token_type": "bearer", "scope": "user:email"}),
    )
    fake_http.add(
        "GET",
        "https://api.github.com/user",
        (200, {"id": 4242, "login": "octo", "name": "Octo Cat", "email": email}),
    )
    fake_http.add(  # added last: wins over the /user prefix
        "GET",
        "https://api.github.com/user/emails",
        (200, [{"email": email, "primary": True, "verified": verified}]),
    )


def start(browser: Client, provider: str = "google", **params: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    query = {"provider": provider, "code_challenge": challenge, "code_challenge_method": "S256"}
    response = browser.get(START, {**query, **params})
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    state = parse_qs(location.query)["state"][0]
    return verifier, state


def finish_in_browser(browser: Client, provider: str, state: str, **extra: str) -> str:
    """Provider → allauth callback → our complete endpoint → the deep link."""
    params = {"state": state, **(extra or {"code": "provider-code"})}
    response = browser.get(f"/accounts/{provider}/login/callback/", params)
    assert response.status_code == 302, response.content
    complete = response["Location"]
    assert complete.startswith("/api/v1/auth/desktop/oauth/complete?flow=")
    response = browser.get(complete)
    assert response.status_code == 302, response.content
    return str(response["Location"])


def deep_link_params(link: str) -> dict[str, str]:
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "dbworkbench://auth/callback"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_google_sign_in_creates_account_and_hands_tokens_to_app(
    system_browser: Client, client: Client, fake_http: FakeHTTP, charlie: Any
) -> None:
    registered: list[dict[str, Any]] = []

    def on_registered(sender: Any, **kwargs: Any) -> None:
        registered.append(kwargs)

    user_registered.connect(on_registered)
    try:
        google_answers(fake_http, "gina@example.com")
        verifier, state = start(system_browser, state="app-state-1")
        params = deep_link_params(finish_in_browser(system_browser, "google", state))
    finally:
        user_registered.disconnect(on_registered)
    assert params["state"] == "app-state-1"
    assert "error" not in params

    response = client.post(
        TOKEN, {"code": params["code"], "code_verifier": verifier}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "authenticated"
    assert body["user"]["email"] == "gina@example.com"
    assert body["user"]["email_verified"] is True
    assert body["user"]["display_name"] == "Gina Google"
    assert body["access_token_expires_in"] <= 900
    assert client.get("/api/v1/account", **bearer(body["access_token"])).status_code == 200
    refreshed = client.post(
        "/_allauth/app/v1/tokens/refresh", {"refresh_token": body["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 200

    assert [r["method"] for r in registered] == ["social"]
    # The system browser was not signed in before, and is not now.
    assert system_browser.get("/api/v1/account").status_code in (401, 403)
    # The app's session is listed with the app's user agent.
    sessions = client.get("/_allauth/app/v1/auth/sessions", **bearer(body["access_token"]))
    assert [s["user_agent"] for s in sessions.json()["data"]] == ["DBWorkbench-Desktop/1.0 (test)"]


def test_handoff_code_needs_the_verifier_and_works_once(
    system_browser: Client, client: Client, fake_http: FakeHTTP
) -> None:
    google_answers(fake_http, "gina@example.com")
    verifier, state = start(system_browser)
    code = deep_link_params(finish_in_browser(system_browser, "google", state))["code"]

    wrong = client.post(TOKEN, {"code": code, "code_verifier": "x" * 50}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "invalid_code_verifier"
    # A wrong verifier burns the code: no second guess.
    burned = client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json")
    assert burned.status_code == 400
    assert burned.json()["error"]["code"] == "invalid_handoff_code"

    verifier, state = start(system_browser)
    code = deep_link_params(finish_in_browser(system_browser, "google", state))["code"]
    assert (
        client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json").status_code
        == 200
    )
    reused = client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json")
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "invalid_handoff_code"
    assert set(reused.json()["error"]) >= {"code", "message", "request_id"}


def test_expired_handoff_code_is_refused(
    system_browser: Client, client: Client, fake_http: FakeHTTP, settings: Any
) -> None:
    settings.DESKTOP_OAUTH_HANDOFF_TTL_SECONDS = 1
    google_answers(fake_http, "gina@example.com")
    verifier, state = start(system_browser)
    code = deep_link_params(finish_in_browser(system_browser, "google", state))["code"]
    time.sleep(1.2)
    response = client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_handoff_code"


def test_existing_account_is_reached_through_its_verified_email(
    system_browser: Client, client: Client, fake_http: FakeHTTP, alice: Any, charlie: Any
) -> None:
    google_answers(fake_http, "alice@example.com", verified=True)
    verifier, state = start(system_browser)
    code = deep_link_params(finish_in_browser(system_browser, "google", state))["code"]
    body = client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json").json()
    assert body["status"] == "authenticated"
    assert body["user"]["id"] == str(alice.pk)
    assert SocialAccount.objects.filter(user=alice, provider="google").exists()
    assert not SocialAccount.objects.filter(user=charlie).exists()


def test_unverified_provider_email_never_takes_over_an_account(
    system_browser: Client, client: Client, fake_http: FakeHTTP, alice: Any
) -> None:
    github_answers(fake_http, "alice@example.com", verified=False)
    verifier, state = start(system_browser, provider="github")
    code = deep_link_params(finish_in_browser(system_browser, "github", state))["code"]
    body = client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json").json()
    assert body.get("user", {}).get("id") != str(alice.pk)
    assert body["status"] == "pending"
    assert "access_token" not in body
    assert not SocialAccount.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert alice.has_usable_password()


def test_second_factor_is_finished_in_the_app(
    system_browser: Client, client: Client, fake_http: FakeHTTP, alice: Any
) -> None:
    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    google_answers(fake_http, "alice@example.com")
    verifier, state = start(system_browser)
    code = deep_link_params(finish_in_browser(system_browser, "google", state))["code"]
    body = client.post(TOKEN, {"code": code, "code_verifier": verifier}, format="json").json()
    assert body["status"] == "pending"
    assert body["pending_flow"] == "mfa_authenticate"
    assert "access_token" not in body
    # Nothing was left signed in, or half signed in, in the system browser.
    assert system_browser.get("/api/v1/account").status_code in (401, 403)

    response = client.post(
        "/_allauth/app/v1/auth/2fa/authenticate",
        {"code": totp_code(secret)},
        format="json",
        **session_token(body["session_token"]),
    )
    assert response.status_code == 200, response.content
    access = response.json()["meta"]["access_token"]
    assert client.get("/api/v1/account", **bearer(access)).json()["id"] == str(alice.pk)
    assert Authenticator.objects.filter(user=alice).count() >= 1


def test_cancelled_at_the_provider_reaches_the_app_as_an_error(
    system_browser: Client, fake_http: FakeHTTP
) -> None:
    _verifier, state = start(system_browser, state="s")
    link = finish_in_browser(system_browser, "google", state, error="access_denied")
    params = deep_link_params(link)
    assert params["error"] == "cancelled"
    assert params["state"] == "s"
    assert "code" not in params


def test_completing_in_another_browser_is_refused(
    system_browser: Client, make_client: Callable[..., Client], fake_http: FakeHTTP
) -> None:
    google_answers(fake_http, "gina@example.com")
    _verifier, state = start(system_browser)
    response = system_browser.get(
        "/accounts/google/login/callback/", {"code": "provider-code", "state": state}
    )
    other = make_client()
    refused = other.get(response["Location"])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_flow"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"redirect_to": "https://evil.example/cb"}, 400, "invalid_redirect"),
        ({"redirect_to": "javascript://x"}, 400, "invalid_redirect"),
        ({"code_challenge_method": "plain"}, 400, "validation_error"),
        ({"code_challenge": "short"}, 400, "invalid_code_challenge"),
        ({"provider": "facebook"}, 400, "validation_error"),
    ],
)
def test_start_refuses_bad_requests(
    system_browser: Client, params: dict[str, str], status: int, code: str
) -> None:
    _, challenge = pkce_pair()
    query = {"provider": "google", "code_challenge": challenge, **params}
    response = system_browser.get(START, query)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_unconfigured_provider_is_absent(
    system_browser: Client, client: Client, settings: Any
) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {"google": PROVIDERS["google"]}
    config = client.get("/_allauth/app/v1/config").json()["data"]
    assert [p["id"] for p in config["socialaccount"]["providers"]] == ["google"]
    _, challenge = pkce_pair()
    response = system_browser.get(START, {"provider": "github", "code_challenge": challenge})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_provider"

    settings.SOCIALACCOUNT_PROVIDERS = {}
    config = client.get("/_allauth/app/v1/config").json()["data"]
    assert config["socialaccount"]["providers"] == []


def test_handoff_user_must_exist(client: Client) -> None:
    response = client.post(TOKEN, {"code": "unknown", "code_verifier": "v" * 43}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_handoff_code"
    assert get_user_model().objects.count() == 0
