from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

from tests.accounts.fakehttp import FakeHTTP
from tests.factories import UserFactory

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a different staple 42"


@pytest.fixture(autouse=True)
def _fresh_redis_state() -> None:
    """Rate-limit counters and single-use codes are per test (this run's key prefix only)."""
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    for pattern in ("cache:*", "accounts:*"):
        for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}{pattern}", count=1000):
            client.delete(key)
    client.close()


@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run inline unless the test brings a real worker."""
    if "celery_worker" in request.fixturenames:
        yield
        return
    from config.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


class Client(APIClient):
    """An API client whose every request ends as if its transaction committed, so
    `enqueue_on_commit` work (emails) happens as in production."""

    def __init__(self, capture: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._capture = capture

    def request(self, **kwargs: Any) -> Any:
        with self._capture(execute=True):
            return super().request(**kwargs)


@pytest.fixture
def make_client(django_capture_on_commit_callbacks: Any) -> Callable[..., Client]:
    def make(**kwargs: Any) -> Client:
        return Client(django_capture_on_commit_callbacks, **kwargs)

    return make


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client(HTTP_USER_AGENT="DBWorkbench-Desktop/1.0 (test)")


@pytest.fixture
def fake_http(monkeypatch: pytest.MonkeyPatch) -> FakeHTTP:
    import requests.adapters

    fake = FakeHTTP()
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter, "send", lambda self, request, **kw: fake.send(request)
    )
    return fake


def make_user(email: str, display_name: str = "", password: str = PASSWORD) -> Any:
    """A verified user with a usable password (the shared factory does not save one)."""
    user: Any = UserFactory(email=email, display_name=display_name)
    user.set_password(password)
    user.save()
    return user


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice@example.com", "Alice")


@pytest.fixture
def bob(db: None) -> Any:
    return make_user("bob@example.com", "Bob")


@pytest.fixture
def charlie(db: None) -> Any:
    """The outsider: a user who must never see or affect anyone else's account."""
    return make_user("charlie@example.com", "Charlie")


def code_from_mail(mailoutbox: list[Any], to: str) -> str:
    """The 6-digit code from the last rendered email sent to `to` (text and HTML agree)."""
    message = next(m for m in reversed(mailoutbox) if to in m.to)
    match = re.search(r"^\s+(\d{6})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    code = match.group(1)
    html = next(c for c, mime in message.alternatives if mime == "text/html")
    assert code in html
    return code


def totp_code(secret: str, offset_steps: int = 0) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset_steps))


def bearer(token: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def session_token(token: str) -> dict[str, Any]:
    return {"HTTP_X_SESSION_TOKEN": token}


def pkce_pair(verifier: str | None = None) -> tuple[str, str]:
    import hashlib
    import secrets

    verifier = verifier or secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def app_login(client: Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(
        "/_allauth/app/v1/auth/login", {"email": email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]
