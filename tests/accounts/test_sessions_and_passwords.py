"""Sessions are devices; ending one, or changing/resetting the password, revokes tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allauth.usersessions.models import UserSession

from tests.accounts.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    Client,
    app_login,
    bearer,
    code_from_mail,
    session_token,
)

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


@pytest.fixture
def laptop(make_client: Callable[..., Client]) -> Client:
    return make_client(HTTP_USER_AGENT="DBWorkbench-Desktop/1.0 (laptop)")


@pytest.fixture
def desktop(make_client: Callable[..., Client]) -> Client:
    return make_client(HTTP_USER_AGENT="DBWorkbench-Desktop/1.0 (desktop)", REMOTE_ADDR="10.0.0.2")


def ok(client: Client, token: str) -> bool:
    return client.get("/api/v1/account", **bearer(token)).status_code == 200


def test_revoking_a_session_kills_that_devices_tokens(
    laptop: Client, desktop: Client, alice: Any, charlie: Any
) -> None:
    a = app_login(laptop, "alice@example.com")
    b = app_login(desktop, "alice@example.com")
    c = app_login(desktop, "charlie@example.com")

    sessions = laptop.get(f"{APP}/auth/sessions", **bearer(a["access_token"])).json()["data"]
    assert len(sessions) == 2
    other = next(s for s in sessions if not s["is_current"])
    assert other["ip"] == "10.0.0.2"
    assert "desktop" in other["user_agent"]

    # The outsider cannot end alice's session.
    charlie_sessions = desktop.get(f"{APP}/auth/sessions", **bearer(c["access_token"])).json()
    assert len(charlie_sessions["data"]) == 1
    refused = desktop.delete(
        f"{APP}/auth/sessions",
        {"sessions": [other["id"]]},
        format="json",
        **bearer(c["access_token"]),
    )
    assert refused.status_code == 400
    assert ok(desktop, b["access_token"])

    response = laptop.delete(
        f"{APP}/auth/sessions",
        {"sessions": [other["id"]]},
        format="json",
        **bearer(a["access_token"]),
    )
    assert response.status_code == 200, response.content
    assert not ok(desktop, b["access_token"])
    refresh = desktop.post(
        f"{APP}/tokens/refresh", {"refresh_token": b["refresh_token"]}, format="json"
    )
    assert refresh.status_code == 400
    assert desktop.get("/api/v1/account", **session_token(b["session_token"])).status_code == 401
    assert ok(laptop, a["access_token"])
    assert ok(desktop, c["access_token"])


def test_activity_of_token_sessions_is_tracked(laptop: Client, alice: Any) -> None:
    a = app_login(laptop, "alice@example.com")
    UserSession.objects.filter(user=alice).update(ip="192.0.2.1")
    assert ok(laptop, a["access_token"])
    session = UserSession.objects.get(user=alice)
    assert session.ip == "127.0.0.1"
    alice.refresh_from_db()
    assert alice.last_seen_at is not None


def test_password_change_revokes_every_other_session_and_renews_this_one(
    laptop: Client,
    desktop: Client,
    make_client: Callable[..., Client],
    alice: Any,
    mailoutbox: list[Any],
) -> None:
    a = app_login(laptop, "alice@example.com")
    b = app_login(desktop, "alice@example.com")
    browser = make_client()
    assert (
        browser.post(
            "/_allauth/browser/v1/auth/login",
            {"email": "alice@example.com", "password": PASSWORD},
            format="json",
        ).status_code
        == 200
    )

    laptop.post(
        f"{APP}/auth/reauthenticate",
        {"password": PASSWORD},
        format="json",
        **bearer(a["access_token"]),
    )
    response = laptop.post(
        f"{APP}/account/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
        **bearer(a["access_token"]),
    )
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    # This device continues with a fresh pair bound to its rotated session…
    assert meta["access_token"] != a["access_token"]
    assert ok(laptop, meta["access_token"])
    assert (
        laptop.post(
            f"{APP}/tokens/refresh", {"refresh_token": meta["refresh_token"]}, format="json"
        ).status_code
        == 200
    )
    # …its old tokens are dead, and so is every other session and token.
    assert not ok(laptop, a["access_token"])
    assert not ok(desktop, b["access_token"])
    assert (
        desktop.post(
            f"{APP}/tokens/refresh", {"refresh_token": b["refresh_token"]}, format="json"
        ).status_code
        == 400
    )
    assert browser.get("/api/v1/account").status_code in (401, 403)
    assert UserSession.objects.filter(user=alice).count() == 1
    assert any("password was changed" in m.subject for m in mailoutbox)
    assert app_login(desktop, "alice@example.com", NEW_PASSWORD)["access_token"]


def test_password_reset_by_code_revokes_every_session(
    laptop: Client, desktop: Client, alice: Any, mailoutbox: list[Any]
) -> None:
    a = app_login(laptop, "alice@example.com")
    response = desktop.post(
        f"{APP}/auth/password/request", {"email": "alice@example.com"}, format="json"
    )
    assert response.status_code == 401, response.content
    token = response.json()["meta"]["session_token"]
    code = code_from_mail(mailoutbox, "alice@example.com")
    assert "password reset code" in mailoutbox[-1].subject

    response = desktop.get(
        f"{APP}/auth/password/reset", HTTP_X_PASSWORD_RESET_KEY=code, **session_token(token)
    )
    assert response.status_code == 200, response.content
    response = desktop.post(
        f"{APP}/auth/password/reset",
        {"key": code, "password": NEW_PASSWORD},
        format="json",
        **session_token(token),
    )
    assert response.status_code == 401, response.content  # reset, not signed in
    assert not ok(laptop, a["access_token"])
    assert not UserSession.objects.filter(user=alice).exists()
    assert any("password was reset" in m.subject for m in mailoutbox)
    assert app_login(desktop, "alice@example.com", NEW_PASSWORD)["access_token"]
    # The code was single use.
    again = desktop.post(
        f"{APP}/auth/password/reset",
        {"key": code, "password": PASSWORD},
        format="json",
        **session_token(token),
    )
    assert again.status_code in (400, 409)
