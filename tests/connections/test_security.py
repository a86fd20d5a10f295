"""Encryption at rest, end to end: a canary planted in every encrypted column through the API
is nowhere in the database in plaintext; a ciphertext moved to another row, column or workspace
with raw SQL fails to decrypt, and so does a flipped bit; secrets never reach logs or error
responses; a viewer never receives a secret; every bad input is a 400 in the one error shape.
Charlie, the outsider, gets 404."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from chats import services as chat_services
from core.crypto import Aad, DecryptionError
from core.crypto.store import keyring
from core.crypto.values import ciphertext_key_version, from_text
from core.key_rotation import encrypted_columns
from core.tenancy import db_context
from core.tenancy.system import system_context
from tests.connections.helpers import Team, all_tables_containing, canary, url
from workspaces.models import Membership

pytestmark = pytest.mark.django_db

SECRETS = ("password", "connection_string", "ssh_private_key", "ssh_passphrase", "tls_client_key")


class Planted:
    """One canary per encrypted column, planted through the API (messages through the chats
    service: writing messages over the API comes with the AI assistant)."""

    def __init__(self, team: Team) -> None:
        self.canaries: dict[tuple[str, str], str] = {}
        bob = team.client("member")
        body: dict[str, Any] = {"name": "prod", "engine": "postgres", "host": "db.example.com"}
        for name in SECRETS:
            body[name] = self._plant("connections.connection", name)
        conn = bob.post(url(team, "connections/"), body, format="json")
        assert conn.status_code == 201
        self.connection_id = conn.json()["id"]
        sql = self._plant("queries.savedquery", "sql")
        saved = bob.post(url(team, "saved-queries/"), {"name": "q", "sql": sql}, format="json")
        assert saved.status_code == 201
        self.saved_id = saved.json()["id"]
        history = bob.post(
            url(team, "history/"),
            {
                "sql": self._plant("queries.queryhistory", "sql"),
                "error": self._plant("queries.queryhistory", "error"),
            },
            format="json",
        )
        assert history.status_code == 201
        with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
            membership = Membership.objects.select_related("workspace", "user").get(
                workspace=team.workspace, user=team.member
            )
            chat = chat_services.chat_create(
                membership=membership, fields={"title": self._plant("chats.chat", "title")}
            )
            chat_services.chat_message_append(
                membership=membership,
                fields={
                    "chat_id": str(chat.id),
                    "role": "user",
                    "parts": [{"type": "text", "text": self._plant("chats.chatmessage", "parts")}],
                    "metadata": {"note": self._plant("chats.chatmessage", "metadata")},
                },
            )
        self.chat_id = str(chat.id)

    def _plant(self, table: str, column: str) -> str:
        value = canary(f"{table}.{column}")
        self.canaries[(table, column)] = value
        return value

    def all(self) -> list[str]:
        return list(self.canaries.values())


@pytest.fixture
def planted(team: Team) -> Planted:
    return Planted(team)


def _raw_update(table: str, column: str, value: str | None, row_id: str) -> None:
    """Write a column behind the application's back, as an attacker with SQL access would: the
    app role, bound to the system operator, with the re-encryption flag that lets a same-version
    update through the sync guard."""
    with system_context(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.maintenance', 'reencrypt', true)")
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [value, row_id])
        assert cursor.rowcount == 1
        cursor.execute("SELECT set_config('app.maintenance', '', true)")


def _raw_read(table: str, column: str, row_id: str) -> str:
    with system_context(), connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [row_id])
        (value,) = cursor.fetchone()
    return str(value)


def _tolerant(user: Any) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def test_every_encrypted_column_is_covered(planted: Planted) -> None:
    expected = {
        (adapter.model._meta.label_lower, column.removesuffix("_encrypted"))
        for adapter, columns in encrypted_columns()
        for column in columns
    }
    assert set(planted.canaries) == expected


def test_raw_sql_finds_no_plaintext(planted: Planted) -> None:
    with system_context(), connection.cursor() as cursor:
        for adapter, columns in encrypted_columns():
            table = adapter.model._meta.db_table
            for column in columns:
                cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
                values = [v for (v,) in cursor.fetchall()]
                assert values, (table, column)
                for value in values:
                    assert ciphertext_key_version(from_text(value)) == 1  # a v1 ciphertext
                    for needle in planted.all():
                        assert needle not in value
    for needle in planted.all():
        assert all_tables_containing(needle) == [], needle


def test_ciphertext_moved_to_another_row_fails(team: Team, planted: Planted) -> None:
    other = team.client("member").post(
        url(team, "connections/"),
        {"name": "other", "engine": "mysql", "password": "other-password"},
        format="json",
    )
    other_id = other.json()["id"]
    stolen = _raw_read("connections_connection", "password_encrypted", planted.connection_id)
    _raw_update("connections_connection", "password_encrypted", stolen, other_id)
    response = _tolerant(team.member).post(url(team, f"connections/{other_id}/reveal"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    for needle in planted.all():
        assert needle not in response.content.decode()
    # The original still decrypts where it belongs.
    ok = team.client("member").post(url(team, f"connections/{planted.connection_id}/reveal"))
    assert ok.json()["password"] == planted.canaries[("connections.connection", "password")]


def test_ciphertext_moved_to_another_column_fails(team: Team, planted: Planted) -> None:
    stolen = _raw_read("connections_connection", "password_encrypted", planted.connection_id)
    _raw_update("connections_connection", "ssh_passphrase_encrypted", stolen, planted.connection_id)
    response = _tolerant(team.member).post(url(team, f"connections/{planted.connection_id}/reveal"))
    assert response.status_code == 500
    assert planted.canaries[("connections.connection", "password")] not in response.content.decode()


def test_ciphertext_moved_to_another_workspace_fails(team: Team, planted: Planted) -> None:
    charlie = team.client("outsider")
    base = url(team, "", workspace=team.other_workspace)
    mine = charlie.post(base + "saved-queries/", {"name": "mine", "sql": "select 1"}, format="json")
    stolen = _raw_read("queries_savedquery", "sql_encrypted", planted.saved_id)
    _raw_update("queries_savedquery", "sql_encrypted", stolen, mine.json()["id"])
    response = _tolerant(team.outsider).get(base + f"saved-queries/{mine.json()['id']}")
    assert response.status_code == 500
    assert planted.canaries[("queries.savedquery", "sql")] not in response.content.decode()
    # Also at the library level: the value is bound to Alice's workspace and row.
    foreign = Aad(team.other_workspace.pk, "queries.savedquery", "sql", mine.json()["id"])
    with (
        db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk),
        pytest.raises(DecryptionError),
    ):
        keyring().decrypt_text(stolen, foreign)
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        assert (
            keyring().decrypt_text(
                stolen, Aad(team.workspace.pk, "queries.savedquery", "sql", planted.saved_id)
            )
            == planted.canaries[("queries.savedquery", "sql")]
        )


@pytest.mark.parametrize("position", [0, 3, 40, 90, -3])
def test_a_flipped_bit_is_detected(team: Team, planted: Planted, position: int) -> None:
    token = _raw_read("queries_savedquery", "sql_encrypted", planted.saved_id)
    raw = bytearray(from_text(token))
    raw[position] ^= 0x04
    from core.crypto.values import to_text

    _raw_update("queries_savedquery", "sql_encrypted", to_text(bytes(raw)), planted.saved_id)
    response = _tolerant(team.viewer).get(url(team, f"saved-queries/{planted.saved_id}"))
    assert response.status_code == 500
    assert planted.canaries[("queries.savedquery", "sql")] not in response.content.decode()


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG, SQL included (the database backend logs statements and
    parameters while queries are being captured)."""
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "dbw", "core", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)
    previous = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = previous


def test_secrets_never_reach_logs_or_error_responses(team: Team, all_logs: Any) -> None:
    planted = Planted(team)
    secret = planted.canaries[("connections.connection", "password")]
    bob = team.client("member")
    tolerant = _tolerant(team.member)
    responses = [
        bob.get(url(team, "connections/")),
        bob.get(url(team, f"connections/{planted.connection_id}")),
        bob.post(url(team, f"connections/{planted.connection_id}/reveal")),
        bob.patch(
            url(team, f"connections/{planted.connection_id}"),
            {"password": secret + "-2"},
            format="json",
        ),
        bob.post(
            url(team, "connections/"),
            {"name": "x", "url": f"postgres://u:{secret}@host:99999/db"},
            format="json",
        ),
        bob.post(
            url(team, "connections/"),
            {"name": "x", "url": f"mysql://u:{secret}@h/db?ssl-mode=bogus"},
            format="json",
        ),
        bob.post(
            url(team, "connections/"),
            {"name": "x", "engine": "postgres", "password": secret, "port": "x"},
            format="json",
        ),
        bob.post(url(team, "export"), {"include_secrets": True}, format="json"),
        bob.post(
            url(team, "import"),
            {
                "document": {
                    "format": "dbworkbench-export",
                    "version": 1,
                    "entities": {"connection": [{"id": "x", "password": secret}]},
                }
            },
            format="json",
        ),
        team.client("viewer").post(url(team, f"connections/{planted.connection_id}/reveal")),
    ]
    # A value that no longer decrypts: a 500 whose body and logs carry nothing of it.
    other = bob.post(url(team, "connections/"), {"name": "o", "engine": "mysql"}, format="json")
    stolen = _raw_read("connections_connection", "password_encrypted", planted.connection_id)
    _raw_update("connections_connection", "password_encrypted", stolen, other.json()["id"])
    responses.append(tolerant.post(url(team, f"connections/{other.json()['id']}/reveal")))
    assert [r.status_code for r in responses] == [
        200, 200, 200, 200, 400, 400, 400, 200, 400, 403, 500,
    ]  # fmt: skip
    error_bodies = [r.content.decode() for r in responses if r.status_code >= 400]
    for body in error_bodies:
        for needle in planted.all():
            assert needle not in body
    assert len(all_logs.records) > 50  # SQL statements were logged, with their parameters
    logged = all_logs.text + "".join(str(r.args) for r in all_logs.records)
    for needle in [*planted.all(), secret + "-2"]:
        assert needle not in logged, needle


def test_a_viewer_never_receives_a_secret(team: Team, planted: Planted) -> None:
    vera = team.client("viewer")
    responses = [
        vera.get(url(team, "connections/")),
        vera.get(url(team, f"connections/{planted.connection_id}")),
        vera.post(url(team, f"connections/{planted.connection_id}/reveal")),
        vera.get(url(team, "export")),
        vera.get(url(team, "export") + "?include_secrets=true"),
        vera.post(url(team, "export"), {"include_secrets": True}, format="json"),
        vera.get("/api/v1/account/export"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 403, 200, 403, 403, 200]
    for response in responses:
        text = response.content.decode()
        for name in SECRETS:
            assert planted.canaries[("connections.connection", name)] not in text
    metadata = responses[1].json()
    assert {f"has_{name}" for name in SECRETS} <= set(metadata)
    assert all(metadata[f"has_{name}"] for name in SECRETS)


WRITE_ENDPOINTS = [
    ("post", "connections/"),
    ("patch", "connections/{connection}"),
    ("post", "saved-queries/"),
    ("patch", "saved-queries/{saved}"),
    ("post", "history/"),
    ("patch", "chats/{chat}"),
    ("post", "export"),
    ("post", "import"),
]


@pytest.mark.parametrize(("method", "path"), WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", [[], "text", 42, {"surprise": True}, {"name": None, "title": 5}])
def test_every_bad_input_is_a_400_in_the_error_shape(
    team: Team, planted: Planted, method: str, path: str, body: Any
) -> None:
    target = url(
        team,
        path.format(connection=planted.connection_id, saved=planted.saved_id, chat=planted.chat_id),
    )
    response = getattr(team.client("member"), method)(target, body, format="json")
    assert response.status_code == 400, (path, body, response.content)
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "request_id"}
    assert error["code"] in ("validation_error", "malformed_request")


def test_outsider_gets_404_on_every_endpoint(team: Team, planted: Planted) -> None:
    charlie = team.client("outsider")
    paths = [
        ("get", "connections/"),
        ("get", f"connections/{planted.connection_id}"),
        ("post", f"connections/{planted.connection_id}/reveal"),
        ("get", "saved-queries/"),
        ("get", f"saved-queries/{planted.saved_id}"),
        ("get", "saved-queries/folders"),
        ("get", "history/"),
        ("delete", "history/"),
        ("get", "chats/"),
        ("get", f"chats/{planted.chat_id}"),
        ("get", f"chats/{planted.chat_id}/messages/"),
        ("get", "export"),
        ("post", "import"),
    ]
    for method, path in paths:
        response = getattr(charlie, method)(url(team, path), {}, format="json")
        assert response.status_code == 404, path
        for needle in planted.all():
            assert needle not in response.content.decode()
