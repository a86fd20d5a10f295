"""Guests: tokens without an email, upgraded in place, purged when idle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import SignInDevice
from accounts.signals import guest_upgraded, user_registered
from accounts.tasks import purge_idle_guests
from tests.accounts.conftest import PASSWORD, Client, app_login, bearer, code_from_mail

pytestmark = pytest.mark.django_db

User = get_user_model()


def create_guest(client: Client) -> dict[str, Any]:
    response = client.post("/api/v1/auth/guest")
    assert response.status_code == 201, response.content
    return response.json()


def test_guest_gets_tokens_and_a_registered_signal(client: Client) -> None:
    calls: list[dict[str, Any]] = []

    def on_registered(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs)

    user_registered.connect(on_registered)
    try:
        body = create_guest(client)
    finally:
        user_registered.disconnect(on_registered)
    assert body["user"]["is_guest"] is True
    assert body["user"]["email"] is None
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["session_token"]
    assert [c["method"] for c in calls] == ["guest"]
    assert str(calls[0]["user"].pk) == body["user"]["id"]

    me = client.get("/api/v1/account", **bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    refreshed = client.post(
        "/_allauth/app/v1/tokens/refresh", {"refresh_token": body["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 200, refreshed.content
    # allauth's app endpoints accept the guest's tokens too.
    sessions = client.get("/_allauth/app/v1/auth/sessions", **bearer(body["access_token"]))
    assert len(sessions.json()["data"]) == 1


def test_upgrade_keeps_the_same_user_and_its_data(
    client: Client, mailoutbox: list[Any], charlie: Any
) -> None:
    guest = create_guest(client)
    access = guest["access_token"]
    user_id = guest["user"]["id"]
    client.patch(
        "/api/v1/account", {"display_name": "Quick Notes"}, format="json", **bearer(access)
    )
    devices_before = SignInDevice.objects.filter(user_id=user_id).count()
    upgraded: list[Any] = []

    def on_upgraded(sender: Any, user: Any, **kwargs: Any) -> None:
        upgraded.append(user.pk)

    guest_upgraded.connect(on_upgraded)
    try:
        response = client.post(
            "/api/v1/account/guest/upgrade",
            {"email": "gus@example.com", "password": PASSWORD},
            format="json",
            **bearer(access),
        )
        assert response.status_code == 202, response.content
        assert response.json() == {"email": "gus@example.com", "code_sent": True}
        code = code_from_mail(mailoutbox, "gus@example.com")

        wrong = client.post(
            "/api/v1/account/guest/upgrade/verify",
            {"code": "000000"},
            format="json",
            **bearer(access),
        )
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "invalid_code"
        response = client.post(
            "/api/v1/account/guest/upgrade/verify", {"code": code}, format="json", **bearer(access)
        )
    finally:
        guest_upgraded.disconnect(on_upgraded)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == user_id
    assert body["is_guest"] is False
    assert body["email"] == "gus@example.com"
    assert body["email_verified"] is True
    assert body["display_name"] == "Quick Notes"
    assert [str(pk) for pk in upgraded] == [user_id]

    # Same tokens keep working; same data; the address and password now sign in anywhere.
    assert client.get("/api/v1/account", **bearer(access)).json()["id"] == user_id
    assert SignInDevice.objects.filter(user_id=user_id).count() == devices_before
    meta = app_login(client, "gus@example.com")
    assert client.get("/api/v1/account", **bearer(meta["access_token"])).json()["id"] == user_id
    assert any("Welcome" in m.subject for m in mailoutbox if "gus@example.com" in m.to)


def test_upgrade_to_a_taken_address_tells_its_owner_and_changes_nothing(
    client: Client, mailoutbox: list[Any], alice: Any
) -> None:
    guest = create_guest(client)
    access = guest["access_token"]
    response = client.post(
        "/api/v1/account/guest/upgrade",
        {"email": "alice@example.com", "password": PASSWORD},
        format="json",
        **bearer(access),
    )
    assert response.status_code == 202  # same answer: no enumeration
    assert "already" in mailoutbox[-1].subject.lower()
    assert mailoutbox[-1].to == ["alice@example.com"]
    response = client.post(
        "/api/v1/account/guest/upgrade/verify", {"code": "123456"}, format="json", **bearer(access)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_pending_verification"
    assert User.objects.get(pk=guest["user"]["id"]).is_guest is True


def test_upgrade_validates_and_is_for_guests_only(client: Client, charlie: Any) -> None:
    guest = create_guest(client)
    weak = client.post(
        "/api/v1/account/guest/upgrade",
        {"email": "g@example.com", "password": "123"},
        format="json",
        **bearer(guest["access_token"]),
    )
    assert weak.status_code == 400
    assert weak.json()["error"]["code"] == "validation_error"
    assert "password" in weak.json()["error"]["fields"]
    bad_email = client.post(
        "/api/v1/account/guest/upgrade",
        {"email": "nope", "password": PASSWORD},
        format="json",
        **bearer(guest["access_token"]),
    )
    assert bad_email.json()["error"]["fields"]["email"]

    # The outsider (a full account) has nothing to upgrade.
    charlie_access = app_login(client, "charlie@example.com")["access_token"]
    response = client.post(
        "/api/v1/account/guest/upgrade",
        {"email": "c2@example.com", "password": PASSWORD},
        format="json",
        **bearer(charlie_access),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_a_guest"
    anonymous = client.post(
        "/api/v1/account/guest/upgrade", {"email": "x@example.com", "password": PASSWORD}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"


def test_idle_guests_are_purged(client: Client, alice: Any, settings: Any) -> None:
    settings.GUEST_IDLE_DAYS = 30
    old = User.objects.get(pk=create_guest(client)["user"]["id"])
    fresh = User.objects.get(pk=create_guest(client)["user"]["id"])
    never_seen = User.objects.create_user(email=None, is_guest=True)
    long_ago = timezone.now() - timedelta(days=31)
    User.objects.filter(pk=old.pk).update(last_seen_at=long_ago)
    User.objects.filter(pk=never_seen.pk).update(created_at=long_ago, last_seen_at=None)
    User.objects.filter(pk=alice.pk).update(last_seen_at=long_ago)

    assert purge_idle_guests.delay().get() == 2
    remaining = set(User.objects.values_list("pk", flat=True))
    assert fresh.pk in remaining
    assert alice.pk in remaining  # full accounts are never purged
    assert old.pk not in remaining
    assert never_seen.pk not in remaining
    assert not EmailAddress.objects.filter(user_id=old.pk).exists()


def test_bearer_activity_keeps_a_guest_alive(client: Client) -> None:
    guest = create_guest(client)
    User.objects.filter(pk=guest["user"]["id"]).update(last_seen_at=None)
    assert client.get("/api/v1/account", **bearer(guest["access_token"])).status_code == 200
    assert User.objects.get(pk=guest["user"]["id"]).last_seen_at is not None
