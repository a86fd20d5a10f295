"""Transactional email: Resend through the real SDK (HTTP answered at the boundary), retries,
templates, and delivery by a real Celery worker."""

from __future__ import annotations

import email
import re
import time
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import requests
from celery.exceptions import Retry
from django.conf import settings as django_settings
from resend.exceptions import ResendError

from accounts.mailer import mail_render, mail_send, message_to_payload
from accounts.tasks import send_email
from tests.accounts.conftest import PASSWORD, Client
from tests.accounts.fakehttp import Call, FakeHTTP

RESEND = "https://api.resend.com/emails"


@pytest.fixture
def resend_backend(settings: Any) -> None:
    settings.EMAIL_BACKEND = "accounts.email.ResendEmailBackend"
    settings.RESEND_API_KEY = "re_test_key"
    settings.RESEND_API_URL = "https://api.resend.com"


def payload() -> dict[str, Any]:
    message = mail_render(
        template_prefix="emails/welcome", to="z@example.com", context={"user": None}
    )
    return message_to_payload(message)


@pytest.mark.django_db
def test_signup_code_arrives_through_resend(
    client: Client,
    fake_http: FakeHTTP,
    resend_backend: None,
    mailoutbox: list[Any],
    charlie: Any,
) -> None:
    sent: list[Call] = []

    def accept(call: Call) -> tuple[int, Any]:
        sent.append(call)
        return 200, {"id": f"em_{len(sent)}"}

    fake_http.add("POST", RESEND, accept)
    response = client.post(
        "/_allauth/app/v1/auth/signup",
        {"email": "ivy@example.com", "password": PASSWORD},
        format="json",
    )
    token = response.json()["meta"]["session_token"]
    assert mailoutbox == []  # nothing went through Django's test outbox: Resend sent it
    assert len(sent) == 1
    call = sent[0]
    assert call.headers["Authorization"] == "Bearer re_test_key"
    assert call.headers["Idempotency-Key"]
    body = call.json
    assert body["to"] == ["ivy@example.com"]
    assert body["from"].startswith("DB Workbench <no-reply@")
    code = re.search(r"^\s+(\d{6})\s*$", body["text"], re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert code in body["html"]
    assert code in body["subject"]

    response = client.post(
        "/_allauth/app/v1/auth/email/verify",
        {"key": code},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 200, response.content
    assert [c.json["subject"] for c in sent][-1] == "Welcome to DB Workbench"
    assert all(c.json["to"] == ["ivy@example.com"] for c in sent)  # nothing to the outsider


@pytest.mark.parametrize(("status", "retried"), [(500, True), (429, True), (422, False)])
def test_transient_failures_retry_and_permanent_ones_do_not(
    fake_http: FakeHTTP, resend_backend: None, status: int, retried: bool
) -> None:
    names = {500: "application_error", 429: "rate_limit_exceeded", 422: "validation_error"}
    fake_http.add(
        "POST", RESEND, (status, {"statusCode": status, "name": names[status], "message": "x"})
    )
    if retried:
        with pytest.raises(Retry):
            send_email.apply(args=(payload(),), throw=True)
    else:
        assert send_email.apply(args=(payload(),), throw=True).get() == 0


def test_network_errors_retry_with_the_same_idempotency_key(
    fake_http: FakeHTTP, resend_backend: None
) -> None:
    def down(call: Call) -> Any:
        raise requests.ConnectionError("connection refused")

    fake_http.add("POST", RESEND, down)
    data = payload()
    with pytest.raises(Retry):
        send_email.apply(args=(data,), throw=True)
    fake_http.add("POST", RESEND, (200, {"id": "em_9"}))
    assert send_email.apply(args=(data,), throw=True).get() == 1
    keys = {c.headers.get("Idempotency-Key") for c in fake_http.calls_to(RESEND)}
    assert keys == {data["id"]}


def test_retries_are_bounded(fake_http: FakeHTTP, resend_backend: None, settings: Any) -> None:
    settings.EMAIL_TASK_MAX_RETRIES = 0
    fake_http.add("POST", RESEND, (503, {"statusCode": 503, "name": "x", "message": "down"}))
    with pytest.raises(ResendError):
        send_email.apply(args=(payload(),), throw=True)


def test_backend_refuses_to_send_without_a_key(fake_http: FakeHTTP, settings: Any) -> None:
    settings.EMAIL_BACKEND = "accounts.email.ResendEmailBackend"
    settings.RESEND_API_KEY = None
    assert send_email.apply(args=(payload(),), throw=True).get() == 0  # 401: permanent, dropped
    assert fake_http.calls == []


TEMPLATES = {
    "account/email/email_confirmation_signup": {"code": "123456", "activate_url": "https://w/x"},
    "account/email/email_confirmation": {"code": "123456"},
    "account/email/password_reset_code": {"code": "654321"},
    "account/email/password_reset_key": {"password_reset_url": "https://w/r"},
    "account/email/account_already_exists": {"password_reset_url": "https://w/r"},
    "account/email/unknown_account": {"signup_url": "https://w/s"},
    "account/email/password_changed": {},
    "account/email/password_set": {},
    "account/email/password_reset": {},
    "account/email/email_changed": {"from_email": "a@x.io", "to_email": "b@x.io"},
    "account/email/email_confirm": {},
    "account/email/email_deleted": {"deleted_email": "a@x.io"},
    "mfa/email/totp_activated": {},
    "mfa/email/totp_deactivated": {},
    "mfa/email/recovery_codes_generated": {},
    "mfa/email/webauthn_added": {},
    "mfa/email/webauthn_removed": {},
    "socialaccount/email/account_connected": {"provider": "Google"},
    "socialaccount/email/account_disconnected": {"provider": "GitHub"},
    "emails/welcome": {},
    "emails/new_sign_in": {"ip": "203.0.113.9", "user_agent": "Firefox"},
    "emails/verify_link": {"activate_url": "https://w/v"},
    "emails/workspace_invitation": {
        "workspace_name": "Acme",
        "inviter_name": "Alice",
        "role": "member",
        "accept_url": "https://w/i/tok",
    },
}


@pytest.mark.parametrize("prefix", sorted(TEMPLATES))
def test_every_template_renders_text_and_html(prefix: str) -> None:
    from django.utils import timezone

    context = {
        "email": "a@x.io",
        "ip": "203.0.113.9",
        "user_agent": "Firefox",
        "timestamp": timezone.now(),
        "expires_at": timezone.now(),
        **TEMPLATES[prefix],
    }
    message = mail_render(template_prefix=prefix, to="a@x.io", context=context)
    html = str(next(c for c, mime in message.alternatives if mime == "text/html"))
    assert message.subject
    assert "\n" not in message.subject
    assert "{{" not in message.body + html
    assert "<html" in html
    for value in TEMPLATES[prefix].values():
        assert str(value) in message.body
        assert str(value) in html


def _mail_files(directory: Path, to: str) -> list[Message]:
    found = []
    for path in sorted(directory.glob("*.log")) if directory.exists() else []:
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = email.message_from_bytes(raw.strip())
                if to in str(message.get("To", "")):
                    found.append(message)
    return found


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()  # type: ignore[union-attr]
    raise AssertionError("no text part")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_verification_code(celery_worker: Any, make_client: Any) -> None:
    """The request enqueues on commit; a Celery worker process renders nothing, it sends
    the rendered message with the configured backend (here: files, the test default)."""
    assert django_settings.EMAIL_BACKEND_NAME == "file"
    client = make_client()
    response = client.post(
        "/_allauth/app/v1/auth/signup",
        {"email": "hank@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 401
    token = response.json()["meta"]["session_token"]
    directory = Path(django_settings.EMAIL_FILE_PATH)
    deadline = time.monotonic() + 30
    messages: list[Message] = []
    while time.monotonic() < deadline and not messages:
        messages = _mail_files(directory, "hank@example.com")
        time.sleep(0.2)
    assert messages, f"no email for hank@example.com in {directory}"
    code = re.search(r"^\s+(\d{6})\s*$", _text_part(messages[0]), re.MULTILINE).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/_allauth/app/v1/auth/email/verify",
        {"key": code},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
    )
    assert response.status_code == 200, response.content
    assert response.json()["meta"]["access_token"]


@pytest.mark.django_db
def test_mail_send_is_the_api_for_other_apps(
    mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mail_send(
            template_prefix="emails/workspace_invitation",
            to="new@example.com",
            context={
                "workspace_name": "Acme",
                "inviter_name": "Alice",
                "role": "viewer",
                "accept_url": "https://w/i/t",
            },
        )
        assert mailoutbox == []  # only after commit
    assert len(callbacks) == 1
    assert mailoutbox[-1].to == ["new@example.com"]
    assert mailoutbox[-1].subject == "Alice invited you to Acme on DB Workbench"
