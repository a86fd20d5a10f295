"""Secrets never reach Sentry: the real SDK captures events into a local transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from core.sentry import init_sentry

SECRETS = [
    "hunter2-db-password",
    "sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA",
    "sk-proj-BBBBBBBBBBBBBBBBBBBBBBBB",
    "re_CCCCCCCCCCCCCCCC",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
]


class CapturingTransport(Transport):
    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.envelopes: list[str] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope.serialize().decode("utf-8", "replace"))


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    transport = CapturingTransport()
    init_sentry(
        dsn="https://public@sentry.example.com/1",
        environment="test",
        release="test",
        traces_sample_rate=0.0,
        transport=transport,
    )
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def _raise_with_secrets_in_locals() -> None:
    password = SECRETS[0]  # noqa: F841
    api_key = SECRETS[1]  # noqa: F841
    connection = {"host": "db", "password": SECRETS[0], "options": {"sslkey": SECRETS[5]}}  # noqa: F841
    raise RuntimeError(
        f"could not connect to postgresql://admin:{SECRETS[0]}@db.internal:5432/prod "
        f"with Bearer {SECRETS[4]} and key {SECRETS[2]}"
    )


def test_exception_event_is_scrubbed(transport: CapturingTransport) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("resend", {"api_key": SECRETS[3], "to": "a@example.com"})
        scope.set_context("db", {"connection_string": f"Server=x;Password={SECRETS[0]};"})
        sentry_sdk.add_breadcrumb(message=f"login with token {SECRETS[4]}", category="auth")
        try:
            _raise_with_secrets_in_locals()
        except RuntimeError:
            sentry_sdk.capture_exception()
    sentry_sdk.flush()
    assert transport.envelopes, "the SDK sent nothing: the test would prove nothing"
    sent = "\n".join(transport.envelopes)
    assert "RuntimeError" in sent
    assert "db.internal" in sent  # the event still says what failed
    assert "a@example.com" in sent  # non-secret context survives
    for secret in SECRETS:
        assert secret not in sent


def test_message_event_is_scrubbed(transport: CapturingTransport) -> None:
    sentry_sdk.capture_message(f"retrying redis://:{SECRETS[0]}@cache:6379/0 password={SECRETS[0]}")
    sentry_sdk.flush()
    sent = "\n".join(transport.envelopes)
    assert "cache:6379" in sent
    assert SECRETS[0] not in sent


def test_request_data_and_headers_are_scrubbed() -> None:
    from core.sentry import before_send

    event = {
        "request": {
            "url": f"https://api.example.com/x?token={SECRETS[4]}",
            "headers": {"Authorization": f"Bearer {SECRETS[4]}", "X-Session-Token": "abc"},
            "cookies": {"sessionid": "s"},
            "data": {"password": SECRETS[0], "name": "prod"},
            "query_string": f"password={SECRETS[0]}",
        }
    }
    scrubbed = json.dumps(before_send(event))
    assert "prod" in scrubbed
    for secret in (SECRETS[0], SECRETS[4], "sessionid"):
        assert secret not in scrubbed


def test_every_registered_secret_field_is_scrubbed_from_a_real_event(
    transport: CapturingTransport,
) -> None:
    """Sentry is a channel no secret may take (docs/permissions.md, "Secrets by role"): a
    connection as the wire carries it, plain-looking canaries in every secret field, in a
    frame's local variables and in the event's extra data."""
    from core.entities import secret_field_names

    names = secret_field_names()
    assert {"password", "connection_string", "ssh_private_key"} <= names
    canaries = {name: f"plain-canary-{index}" for index, name in enumerate(sorted(names))}

    def fail() -> None:
        row = {"name": "prod", "host": "db", **canaries}  # noqa: F841 - read by Sentry
        raise RuntimeError("could not connect")

    with sentry_sdk.new_scope() as scope:
        scope.set_extra("connection", {"name": "prod", **canaries})
        try:
            fail()
        except RuntimeError:
            sentry_sdk.capture_exception()
    sentry_sdk.flush()
    sent = "\n".join(transport.envelopes)
    assert "could not connect" in sent
    assert not [name for name, value in canaries.items() if value in sent]


def test_a_new_secret_field_is_scrubbed_without_touching_the_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core import entities
    from core.sentry import before_send, is_secret_key

    class Wallet(entities.EntityAdapter):
        entity = "wallet"
        secret_fields = frozenset({"seed_words"})

    assert not is_secret_key("seed_words")  # the name pattern alone would let it through
    monkeypatch.setitem(entities._registry, "wallet", Wallet)
    scrubbed = json.dumps(before_send({"extra": {"wallet": {"seed_words": "abandon ability"}}}))
    assert "abandon ability" not in scrubbed
