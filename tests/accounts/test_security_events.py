"""accounts.signals.security_event: what the audit log subscribes to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.signals import SecurityAction, security_event
from tests.accounts.conftest import PASSWORD, Client, app_login, bearer, totp_code

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"


@pytest.fixture
def events() -> Iterator[list[dict[str, Any]]]:
    captured: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        captured.append(kwargs)

    security_event.connect(receiver)
    yield captured
    security_event.disconnect(receiver)


def actions(events: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in events]


def test_sign_in_failure_and_sign_out(
    client: Client, alice: Any, charlie: Any, events: list[dict[str, Any]]
) -> None:
    client.post(
        f"{APP}/auth/login", {"email": "alice@example.com", "password": "no"}, format="json"
    )
    failed = events[-1]
    assert failed["action"] == SecurityAction.SIGN_IN_FAILED
    assert failed["user"] == alice
    assert failed["metadata"]["ip"] == "127.0.0.1"
    assert "password" not in str(failed["metadata"]).lower().replace("sign_in", "")

    client.post(
        f"{APP}/auth/login", {"email": "nobody@example.com", "password": "no"}, format="json"
    )
    assert events[-1]["action"] == SecurityAction.SIGN_IN_FAILED
    assert events[-1]["user"] is None

    access = app_login(client, "alice@example.com")["access_token"]
    signed_in = next(e for e in events if e["action"] == SecurityAction.SIGNED_IN)
    assert signed_in["user"] == alice
    assert signed_in["metadata"]["client"] == "app"
    assert signed_in["metadata"]["user_agent"].startswith("DBWorkbench-Desktop")
    client.delete(f"{APP}/auth/session", **bearer(access))
    assert SecurityAction.SIGNED_OUT in actions(events)
    assert all(e["user"] != charlie for e in events)


def test_two_factor_and_password_changes(
    client: Client, alice: Any, events: list[dict[str, Any]], mailoutbox: list[Any]
) -> None:
    access = app_login(client, "alice@example.com")["access_token"]
    client.post(
        f"{APP}/auth/reauthenticate", {"password": PASSWORD}, format="json", **bearer(access)
    )
    secret = client.get(f"{APP}/account/authenticators/totp", **bearer(access)).json()["meta"][
        "secret"
    ]
    client.post(
        f"{APP}/account/authenticators/totp",
        {"code": totp_code(secret)},
        format="json",
        **bearer(access),
    )
    assert {"type": "totp"}.items() <= next(
        e for e in events if e["action"] == SecurityAction.MFA_ENABLED
    )["metadata"].items()
    response = client.delete(f"{APP}/account/authenticators/totp", **bearer(access))
    assert response.status_code == 200, response.content
    assert SecurityAction.MFA_DISABLED in actions(events)
    assert any("turned off" in m.subject for m in mailoutbox)

    response = client.post(
        f"{APP}/account/password/change",
        {"current_password": PASSWORD, "new_password": "brand new words 7"},
        format="json",
        **bearer(access),
    )
    assert response.status_code == 200, response.content
    assert SecurityAction.PASSWORD_CHANGED in actions(events)


def test_new_device_notice(
    client: Client, make_client: Any, alice: Any, mailoutbox: list[Any]
) -> None:
    app_login(client, "alice@example.com")
    assert not any("New sign-in" in m.subject for m in mailoutbox)  # first device: no news
    app_login(client, "alice@example.com")
    assert not any("New sign-in" in m.subject for m in mailoutbox)  # same device
    other = make_client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) Chrome/140")
    app_login(other, "alice@example.com")
    notice = next(m for m in mailoutbox if "New sign-in" in m.subject)
    assert notice.to == ["alice@example.com"]
    assert "Chrome/140" in notice.body


def test_a_failing_subscriber_neither_breaks_sign_in_nor_silences_the_others(
    client: Client, alice: Any, events: list[dict[str, Any]]
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(pk=alice.pk).update(display_name="changed")
        raise RuntimeError("audit log is down")

    security_event.connect(broken, dispatch_uid="test.broken")
    try:
        response = client.post(
            f"{APP}/auth/login", {"email": "alice@example.com", "password": PASSWORD}, format="json"
        )
    finally:
        security_event.disconnect(dispatch_uid="test.broken")
    assert response.status_code == 200
    assert SecurityAction.SIGNED_IN in actions(events)
    alice.refresh_from_db()
    assert alice.display_name == "Alice"  # the broken receiver's write was rolled back
