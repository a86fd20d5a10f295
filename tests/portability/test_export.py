"""Workspace export and import: the versioned document, secrets only when asked for and allowed,
passphrase-sealed envelopes, import with new ids and remapped references, dry-run reports,
conflicts, plan limits, invalid documents, audit events, and the account's "all my data"
section. Charlie, the outsider, gets 404 on Alice's workspace."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from chats import services as chat_services
from core.tenancy import db_context
from portability import document_format, services
from tests.connections.helpers import Team, all_tables_containing, canary, url
from workspaces.models import AuditEvent, Membership

pytestmark = pytest.mark.django_db

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document_format, "SCRYPT_N", 2**14)


class Data:
    def __init__(self, team: Team) -> None:
        self.password = canary("pw")
        self.key = canary("sshkey")
        self.sql = canary("sql")
        self.history_sql = canary("hist")
        self.message = canary("msg")
        bob = team.client("member")
        conn = bob.post(
            url(team, "connections/"),
            {
                "name": "prod",
                "engine": "postgres",
                "host": "db.example.com",
                "password": self.password,
                "ssh_private_key": self.key,
                "options": {"ssh": {"host": "bastion", "port": 22, "auth_method": "key"}},
            },
            format="json",
        )
        assert conn.status_code == 201
        self.connection_id = conn.json()["id"]
        saved = bob.post(
            url(team, "saved-queries/"),
            {
                "name": "top",
                "sql": f"select '{self.sql}'",
                "connection_id": self.connection_id,
                "folder": "reports",
                "tags": ["sales"],
            },
            format="json",
        )
        assert saved.status_code == 201
        self.saved_id = saved.json()["id"]
        bob.post(
            url(team, "history/"),
            {"sql": self.history_sql, "connection_id": self.connection_id, "error": "boom"},
            format="json",
        )
        team.client("admin").post(url(team, "history/"), {"sql": "adam's"}, format="json")
        with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
            membership = Membership.objects.select_related("workspace", "user").get(
                workspace=team.workspace, user=team.member
            )
            chat = chat_services.chat_create(
                membership=membership,
                fields={"title": "why slow", "connection_id": self.connection_id},
            )
            self.chat_id = str(chat.id)
            for i, role in enumerate(("user", "assistant")):
                chat_services.chat_message_append(
                    membership=membership,
                    fields={
                        "chat_id": self.chat_id,
                        "role": role,
                        "parts": [{"type": "text", "text": f"{self.message} {i}"}],
                    },
                    model="claude" if role == "assistant" else "",
                    output_tokens=7 if role == "assistant" else None,
                )


@pytest.fixture
def data(team: Team) -> Data:
    return Data(team)


def _export(team: Team, role: str, **params: Any) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return team.client(role).get(url(team, "export") + (f"?{query}" if query else ""))


def _audit(team: Team, action: str, workspace: Any = None) -> list[AuditEvent]:
    workspace = workspace or team.workspace
    with db_context(workspace_id=workspace.pk, user_id=team.owner.pk):
        return list(AuditEvent.objects.filter(workspace_id=workspace.pk, action=action))


def test_export_document_without_secrets(team: Team, data: Data) -> None:
    response = _export(team, "member")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = response.json()
    assert (document["format"], document["version"]) == ("dbworkbench-export", 1)
    assert document["secrets_included"] is False
    assert document["source"]["workspace_id"] == str(team.workspace.pk)
    entities = document["entities"]
    assert {k: len(v) for k, v in entities.items()} == {
        "connection": 1,
        "saved_query": 1,
        "query_history": 1,  # Bob's own; Adam's stays private
        "chat": 1,
        "chat_message": 2,
    }
    connection = entities["connection"][0]
    assert connection["options"]["ssh"]["host"] == "bastion"
    assert "password" not in connection
    assert "ssh_private_key" not in connection
    assert entities["saved_query"][0]["sql"] == f"select '{data.sql}'"
    assert entities["chat_message"][1]["model"] == "claude"
    text = response.content.decode()
    assert data.password not in text
    assert data.key not in text
    events = _audit(team, "data.exported")
    assert events[0].metadata["secrets_included"] is False


def test_secrets_only_when_asked_and_allowed(team: Team, data: Data) -> None:
    with_secrets = _export(team, "member", include_secrets="true")
    assert with_secrets.status_code == 200
    connection = with_secrets.json()["entities"]["connection"][0]
    assert connection["password"] == data.password
    assert connection["ssh_private_key"] == data.key
    assert with_secrets.json()["secrets_included"] is True
    viewer = _export(team, "viewer", include_secrets="true")
    assert viewer.status_code == 403
    assert data.password not in viewer.content.decode()
    plain = _export(team, "viewer")
    assert plain.status_code == 200
    assert data.password not in plain.content.decode()
    assert plain.json()["entities"]["query_history"] == []  # Vera has no history of her own
    sealed = team.client("viewer").post(
        url(team, "export"), {"include_secrets": True, "passphrase": PASSPHRASE}, format="json"
    )
    assert sealed.status_code == 403
    assert _export(team, "member", include_secrets="perhaps").status_code == 400


def test_sealed_export_opens_only_with_its_passphrase(team: Team, data: Data) -> None:
    response = team.client("member").post(
        url(team, "export"), {"include_secrets": True, "passphrase": PASSPHRASE}, format="json"
    )
    assert response.status_code == 200, response.content
    envelope = response.json()
    assert envelope["format"] == "dbworkbench-export-encrypted"
    assert envelope["kdf"]["name"] == "scrypt"
    assert envelope["cipher"]["name"] == "AES-256-GCM"
    text = response.content.decode()
    assert data.password not in text
    assert data.sql not in text
    document = document_format.open_document(envelope, PASSPHRASE)
    assert document["entities"]["connection"][0]["password"] == data.password
    events = _audit(team, "data.exported")
    assert events[-1].metadata["encrypted"] is True

    client = team.client("outsider")
    target = url(team, "import", workspace=team.other_workspace)
    wrong = client.post(target, {"document": envelope, "passphrase": "x" * 20}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "export_passphrase_invalid"
    missing = client.post(target, {"document": envelope}, format="json")
    assert missing.json()["error"]["code"] == "passphrase_required"
    for tamper in (
        {"kdf": {**envelope["kdf"], "n": 2**15}},  # weaker/other parameters: AAD mismatch
        {"ciphertext": base64.b64encode(b"\x00" * 64).decode()},
    ):
        response = client.post(
            target, {"document": {**envelope, **tamper}, "passphrase": PASSPHRASE}, format="json"
        )
        assert response.status_code == 400
    for abuse in ({"n": 2**20}, {"n": 3 * 2**14}, {"r": 16}, {"name": "pbkdf2"}):
        response = client.post(
            target,
            {
                "document": {**envelope, "kdf": {**envelope["kdf"], **abuse}},
                "passphrase": PASSPHRASE,
            },
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_export"
    short = team.client("member").post(url(team, "export"), {"passphrase": "short"}, format="json")
    assert short.status_code == 400
    assert "passphrase" in short.json()["error"]["fields"]
    ok = client.post(target, {"document": envelope, "passphrase": PASSPHRASE}, format="json")
    assert ok.status_code == 201, ok.content


def test_import_into_another_workspace_remaps_ids(team: Team, data: Data) -> None:
    document = _export(team, "member", include_secrets="true").json()
    charlie = team.client("outsider")
    target = url(team, "import", workspace=team.other_workspace)
    dry = charlie.post(target, {"document": document, "dry_run": True}, format="json")
    assert dry.status_code == 200, dry.content
    report = dry.json()
    assert report["ok"] is True
    assert report["dry_run"] is True
    assert report["counts"]["connection"] == {"in_document": 1, "created": 1, "skipped": 0}
    assert report["counts"]["chat_message"]["created"] == 2
    assert report["id_map"] == {}
    listed = charlie.get(url(team, "connections/", workspace=team.other_workspace)).json()
    assert listed["results"] == []  # a dry run writes nothing

    response = charlie.post(target, {"document": document}, format="json")
    assert response.status_code == 201, response.content
    report = response.json()
    new_connection = report["id_map"]["connection"][data.connection_id]
    new_chat = report["id_map"]["chat"][data.chat_id]
    assert new_connection != data.connection_id
    base = url(team, "", workspace=team.other_workspace)
    saved = charlie.get(base + "saved-queries/").json()["results"][0]
    assert saved["connection_id"] == new_connection
    assert saved["id"] == report["id_map"]["saved_query"][data.saved_id]
    assert saved["sql"] == f"select '{data.sql}'"
    revealed = charlie.post(base + f"connections/{new_connection}/reveal").json()
    assert revealed["password"] == data.password
    assert revealed["ssh_private_key"] == data.key
    history = charlie.get(base + "history/").json()["results"]
    assert [(h["sql"], h["connection_id"]) for h in history] == [(data.history_sql, new_connection)]
    chat = charlie.get(base + f"chats/{new_chat}").json()
    assert chat["connection_id"] == new_connection
    assert [m["parts"][0]["text"] for m in chat["messages"]] == [
        f"{data.message} 0",
        f"{data.message} 1",
    ]
    assert chat["messages"][1]["output_tokens"] == 7
    events = _audit(team, "data.imported", workspace=team.other_workspace)
    assert events[0].metadata["counts"]["connection"]["created"] == 1
    # The imported secrets are encrypted at rest in Charlie's workspace too.
    assert all_tables_containing(data.password) == []
    # Alice's workspace is untouched.
    assert len(team.client("owner").get(url(team, "connections/")).json()["results"]) == 1


def test_reimport_reports_conflicts(team: Team, data: Data) -> None:
    document = _export(team, "member").json()
    client = team.client("member")
    skip = client.post(url(team, "import"), {"document": document}, format="json")
    assert skip.status_code == 201, skip.content
    report = skip.json()
    assert report["counts"]["connection"] == {"in_document": 1, "created": 0, "skipped": 1}
    assert report["counts"]["saved_query"]["skipped"] == 1
    assert [c["action"] for c in report["conflicts"]] == ["skipped", "skipped"]
    assert report["conflicts"][0]["existing_id"] == data.connection_id
    # History and chats are the importer's own rows: imported again.
    assert report["counts"]["query_history"]["created"] == 1
    # References to a skipped row point at the row the workspace already has.
    history = client.get(url(team, "history/")).json()["results"]
    assert {h["connection_id"] for h in history} == {data.connection_id}
    both = client.post(
        url(team, "import"), {"document": document, "on_conflict": "keep_both"}, format="json"
    )
    assert both.json()["counts"]["connection"]["created"] == 1
    assert len(client.get(url(team, "connections/")).json()["results"]) == 2


def test_import_respects_plan_limits(team: Team, data: Data) -> None:
    document = _export(team, "member").json()
    template = document["entities"]["connection"][0]
    document["entities"]["connection"] = [
        {**template, "id": str(uuid.uuid4()), "name": f"c{i}"} for i in range(6)
    ]
    client = team.client("outsider")  # Charlie's workspace: free plan, 5 connections
    target = url(team, "import", workspace=team.other_workspace)
    dry = client.post(target, {"document": document, "dry_run": True}, format="json")
    assert dry.status_code == 200
    assert dry.json()["ok"] is False
    assert dry.json()["errors"][0]["code"] == "plan_limit"
    real = client.post(target, {"document": document}, format="json")
    assert real.status_code == 402
    assert real.json()["error"]["code"] == "plan_limit"
    assert (
        client.get(url(team, "connections/", workspace=team.other_workspace)).json()["results"]
        == []
    )


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda d: {"format": "other"}, 400, "invalid_export"),
        (lambda d: {**d, "version": 2}, 400, "unsupported_export"),
        (lambda d: {**d, "entities": []}, 400, "invalid_export"),
        (
            lambda d: {
                **d,
                "entities": {**d["entities"], "saved_query": [{"id": "x", "name": "q"}]},
            },
            400,
            "import_invalid",
        ),
        (
            lambda d: {
                **d,
                "entities": {
                    **d["entities"],
                    "connection": [{**d["entities"]["connection"][0], "port": 0}],
                },
            },
            400,
            "import_invalid",
        ),
        (
            lambda d: {**d, "entities": {**d["entities"], "chat_message": "nope"}},
            400,
            "import_invalid",
        ),
    ],
)
def test_invalid_documents_are_refused(
    team: Team, data: Data, mutate: Any, status: int, code: str
) -> None:
    document = mutate(_export(team, "member").json())
    response = team.client("member").post(
        url(team, "import"), {"document": document}, format="json"
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_invalid_row_report_names_entity_index_and_field(team: Team, data: Data) -> None:
    document = _export(team, "member").json()
    document["entities"]["saved_query"].append({"id": str(uuid.uuid4()), "name": ""})
    document["entities"]["robots"] = [{"id": "x"}]
    dry = team.client("member").post(
        url(team, "import"), {"document": document, "dry_run": True}, format="json"
    )
    report = dry.json()
    assert report["ok"] is False
    assert report["errors"] == [
        {
            "entity": "saved_query",
            "index": 1,
            "id": document["entities"]["saved_query"][1]["id"],
            "field": "name",
            "message": "name must be 1 to 200 characters.",
        }
    ]
    assert {"entity": "robots", "reason": "unknown entity"} in report["skipped"]
    real = team.client("member").post(url(team, "import"), {"document": document}, format="json")
    assert real.status_code == 400
    assert real.json()["error"]["report"]["errors"][0]["field"] == "name"


def test_orphan_messages_are_skipped_and_dangling_references_cleared(
    team: Team, data: Data
) -> None:
    document = _export(team, "member").json()
    document["entities"]["chat"] = []
    document["entities"]["connection"] = []
    client = team.client("outsider")
    response = client.post(
        url(team, "import", workspace=team.other_workspace), {"document": document}, format="json"
    )
    assert response.status_code == 201, response.content
    report = response.json()
    assert report["counts"]["chat_message"] == {"in_document": 2, "created": 0, "skipped": 2}
    assert {w["field"] for w in report["warnings"]} == {"connection_id"}
    saved = client.get(url(team, "saved-queries/", workspace=team.other_workspace)).json()
    assert saved["results"][0]["connection_id"] is None


def test_import_size_limits(team: Team, data: Data, monkeypatch: pytest.MonkeyPatch) -> None:
    document = _export(team, "member").json()
    monkeypatch.setattr(services, "MAX_IMPORT_ROWS", 3)
    response = team.client("member").post(
        url(team, "import"), {"document": document}, format="json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "import_too_large"
    big = {"document": {**document, "padding": "x" * (10 * 1024 * 1024)}}
    response = team.client("member").post(url(team, "import"), big, format="json")
    assert response.status_code == 413


def test_roles_and_outsiders(team: Team, data: Data) -> None:
    document = _export(team, "member").json()
    assert (
        team.client("viewer")
        .post(url(team, "import"), {"document": document}, format="json")
        .status_code
        == 403
    )
    outsider = team.client("outsider")
    assert outsider.get(url(team, "export")).status_code == 404
    assert outsider.post(url(team, "export"), {}, format="json").status_code == 404
    assert (
        outsider.post(url(team, "import"), {"document": document}, format="json").status_code == 404
    )
    bad = team.client("member").post(
        url(team, "import"), {"document": document, "extra": 1}, format="json"
    )
    assert bad.status_code == 400
    assert "extra" in bad.json()["error"]["fields"]


def test_account_export_has_my_data_without_secrets(team: Team, data: Data) -> None:
    response = team.client("member").get("/api/v1/account/export")
    assert response.status_code == 200
    text = response.content.decode()
    assert data.password not in text
    assert data.key not in text
    sections = response.json()["workspace_data"]
    acme = next(s for s in sections if s["source"]["workspace_id"] == str(team.workspace.pk))
    assert acme["scope"] == "account"
    assert [c["name"] for c in acme["entities"]["connection"]] == ["prod"]
    assert [h["sql"] for h in acme["entities"]["query_history"]] == [data.history_sql]
    assert json.dumps(acme).count(data.message) == 2
    # Adam created nothing shared; his own history is all he gets.
    adam = team.client("admin").get("/api/v1/account/export").json()["workspace_data"]
    acme_adam = next(s for s in adam if s["source"]["workspace_id"] == str(team.workspace.pk))
    assert acme_adam["entities"]["connection"] == []
    assert [h["sql"] for h in acme_adam["entities"]["query_history"]] == ["adam's"]
