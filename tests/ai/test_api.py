"""The assistant's JSON endpoints in process: one-shot SQL help, the guardrail, approval tokens,
usage and its admin view, and the chat endpoint's refusals (which answer JSON before any
stream starts). alice owns the workspace, adam is an admin, bob a member, vera a viewer,
charlie an outsider. Providers are the real SDKs against the fake LLM server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings

from ai.models import AiUsage
from ai.services.usage import usage_record
from core.tenancy import db_context
from tests.ai.conftest import user_message
from tests.factories import UserFactory
from tests.fakes.llm_server import (
    FakeLLMServer,
    context_too_long,
    overloaded,
    text,
)
from tests.workspaces.conftest import Team
from workspaces.audit import Action
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def llm(fake_llm: FakeLLMServer) -> Any:
    with override_settings(**fake_llm.settings(order=("openai",)), AI_RATE_LIMIT_PER_MINUTE=1000):
        yield fake_llm


def url(team: Team, path: str, workspace: Any = None) -> str:
    return f"/api/v1/workspaces/{(workspace or team.workspace).pk}/{path}"


def post(team: Team, who: str, path: str, body: dict[str, Any]) -> Any:
    return team.client(who).post(url(team, path), body, format="json")


def answer(**fields: Any) -> Any:
    return text(json.dumps(fields), usage=(300, 20))


# ---------------------------------------------------------------------------------------------
# One-shot tasks
# ---------------------------------------------------------------------------------------------
def test_generate_sql_answers_with_its_verdict_and_counts_usage(team: Team, llm: Any) -> None:
    llm.enqueue(answer(sql="SELECT count(*) FROM users", explanation="Counts the users."))
    schema = {"tables": [{"name": "users", "columns": [{"name": "id", "type": "int"}]}]}
    response = post(
        team,
        "member",
        "ai/generate-sql",
        {
            "question": "How many users?",
            "dialect": "postgres",
            "schema": schema,
            "sample_values": {"users.id": [1, 2]},
            "max_rows": 50,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sql"] == "SELECT count(*) FROM users"
    assert body["explanation"] == "Counts the users."
    assert body["guardrail"]["kind"] == "read_only"
    assert body["guardrail"]["allowed_readonly"] is True
    assert body["guardrail"]["limited_sql"] == "SELECT COUNT(*) FROM users LIMIT 50"
    assert body["model"] == "gpt-fake"
    assert body["usage"] == {"input_tokens": 300, "output_tokens": 20}
    assert body["schema"]["tables"] == ["users"]
    sent = llm.requests[-1].body
    assert "users(id int)" in sent["instructions"]
    assert "-- sample values of users.id: 1, 2" in sent["instructions"]
    assert "How many users?" in json.dumps(sent["input"])
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        row = AiUsage.objects.get(user=team.member)
    assert (row.requests, row.input_tokens, row.output_tokens, row.model) == (
        1,
        300,
        20,
        "gpt-fake",
    )


def test_fix_explain_optimize_and_enhance(team: Team, llm: Any) -> None:
    llm.enqueue(
        answer(sql="DELETE FROM users WHERE id = 1", explanation="Quoted the id."),
        answer(explanation="Deletes one user."),
        answer(sql="SELECT id FROM users WHERE id > 10", explanation="Uses the index."),
        answer(prompt="Count rows of users created in 2024, grouped by month."),
    )
    fixed = post(
        team, "member", "ai/fix-sql", {"sql": "DELETE FROM users WHERE id = '1", "error": "syntax"}
    )
    assert fixed.status_code == 200, fixed.content
    assert fixed.json()["guardrail"]["kind"] == "write"
    assert fixed.json()["guardrail"]["allowed_readonly"] is False
    explained = post(
        team, "member", "ai/explain-sql", {"sql": "DELETE FROM users", "dialect": "mysql"}
    )
    assert explained.json()["explanation"] == "Deletes one user."
    assert (
        explained.json()["sql"] == "DELETE FROM users"
    )  # the statement explained, with its verdict
    assert explained.json()["guardrail"]["kind"] == "write"
    optimized = post(
        team, "member", "ai/optimize-sql", {"sql": "SELECT * FROM users WHERE id > 10"}
    )
    assert optimized.json()["sql"] == "SELECT id FROM users WHERE id > 10"
    assert optimized.json()["guardrail"]["allowed_readonly"] is True
    enhanced = post(team, "member", "ai/enhance-prompt", {"prompt": "users per month 2024"})
    assert enhanced.json()["prompt"] == "Count rows of users created in 2024, grouped by month."
    assert "guardrail" not in enhanced.json()


@pytest.mark.parametrize(
    ("reply", "status", "code", "message"),
    [
        (
            overloaded(),
            503,
            "overloaded",
            "The AI provider is overloaded right now. Please try again in a minute.",
        ),
        (
            context_too_long(),
            400,
            "context_too_long",
            "The conversation is too long for the model. Start a new chat or shorten the schema.",
        ),
        (
            text("this is not JSON"),
            502,
            "bad_response",
            "The AI model returned a response the service could not read. Please try again.",
        ),
        (
            answer(explanation="no sql key"),
            502,
            "bad_response",
            "The AI model returned a response the service could not read. Please try again.",
        ),
    ],
)
def test_provider_failures_are_short_json_errors(
    team: Team, llm: Any, reply: Any, status: int, code: str, message: str
) -> None:
    llm.enqueue(reply)
    response = post(team, "member", "ai/generate-sql", {"question": "q"})
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    assert "Traceback" not in response.content.decode()


def test_quota_and_rate_limits(team: Team, llm: Any) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        # The team plan has 1,000 requests per seat: 10 seats.
        usage_record(
            workspace_id=team.workspace.pk, user_id=team.owner.pk, model="x", requests=10_000
        )
    response = post(team, "member", "ai/generate-sql", {"question": "q"})
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "plan_limit"
    assert response.json()["error"]["limit"] == "ai_requests_per_month"
    assert llm.requests == []

    with db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk):
        usage_record(
            workspace_id=team.other_workspace.pk,
            user_id=team.outsider.pk,
            model="x",
            input_tokens=300_000,
        )
    outsider = team.client("outsider")
    response = outsider.post(
        url(team, "ai/generate-sql", team.other_workspace), {"question": "q"}, format="json"
    )
    assert response.status_code == 402
    assert response.json()["error"]["limit"] == "ai_tokens_per_month"

    with override_settings(AI_RATE_LIMIT_PER_MINUTE=2):
        llm.enqueue(answer(sql="SELECT 1", explanation=""), answer(sql="SELECT 1", explanation=""))
        admin = team.client("admin")
        with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
            AiUsage.objects.all().delete()
        codes = [
            admin.post(url(team, "ai/generate-sql"), {"question": "q"}, format="json")
            for _ in range(3)
        ]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(codes[2]["Retry-After"]) <= 61


def test_roles_and_outsiders(team: Team, llm: Any) -> None:
    body = {"question": "q"}
    assert post(team, "viewer", "ai/generate-sql", body).status_code == 403
    outsider = team.client("outsider").post(url(team, "ai/generate-sql"), body, format="json")
    assert outsider.status_code == 404
    assert llm.requests == []


def test_validation(team: Team, llm: Any) -> None:
    response = post(team, "member", "ai/generate-sql", {"question": "q", "dialect": "oracle"})
    assert response.status_code == 400
    assert "dialect" in response.json()["error"]["fields"]
    response = post(team, "member", "ai/generate-sql", {"question": "q", "schema": [1]})
    assert response.status_code == 400
    assert "schema" in response.json()["error"]["fields"]


# ---------------------------------------------------------------------------------------------
# Guardrail and approvals
# ---------------------------------------------------------------------------------------------
def test_the_verdict_endpoint_answers_for_any_sql_even_for_viewers(team: Team) -> None:
    response = post(
        team,
        "viewer",
        "ai/guardrail",
        {"sql": "select * from t", "dialect": "mssql", "max_rows": 5},
    )
    assert response.status_code == 200
    assert response.json() == {
        "kind": "read_only",
        "allowed_readonly": True,
        "reasons": [],
        "statement_count": 1,
        "normalized_sql": "SELECT * FROM t",
        "limited_sql": "SELECT TOP 5 * FROM t",
    }
    response = post(
        team,
        "viewer",
        "ai/guardrail",
        {"sql": "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "dialect": "postgres"},
    )
    assert response.json()["allowed_readonly"] is False
    outsider = team.client("outsider").post(
        url(team, "ai/guardrail"), {"sql": "select 1", "dialect": "postgres"}, format="json"
    )
    assert outsider.status_code == 404


def approve(team: Team, who: str, token: str, sql: str, connection_id: Any = None) -> Any:
    body: dict[str, Any] = {"token": token, "sql": sql}
    if connection_id:
        body["connection_id"] = str(connection_id)
    return post(team, who, "ai/approvals/approve", body)


def test_approval_round_trip_is_single_use_and_audited(team: Team) -> None:
    connection_id = uuid.uuid4()
    sql = "UPDATE users SET active = false WHERE last_seen < now() - interval '1 year'"
    read = post(team, "member", "ai/approvals", {"sql": "SELECT 1", "dialect": "postgres"})
    assert read.status_code == 200
    assert read.json()["required"] is False
    assert read.json()["token"] is None

    created = post(
        team,
        "member",
        "ai/approvals",
        {"sql": sql, "dialect": "postgres", "connection_id": str(connection_id)},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["required"] is True
    assert body["guardrail"]["kind"] == "write"
    token = body["token"]
    assert len(token) >= 40

    response = approve(team, "member", token, sql, connection_id)
    assert response.status_code == 200, response.content
    assert response.json()["sql"] == sql
    assert response.json()["connection_id"] == str(connection_id)
    assert approve(team, "member", token, sql, connection_id).status_code == 410

    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        event = AuditEvent.objects.get(action=Action.AI_SQL_APPROVED)
    assert event.actor_id == team.member.pk
    assert event.target_id == str(connection_id)
    assert event.metadata["kind"] == "write"
    assert len(event.metadata["sql_sha256"]) == 64
    assert "users" not in json.dumps(event.metadata)  # the statement itself is not logged


@pytest.mark.parametrize("mismatch", ["sql", "connection", "member", "outsider"])
def test_an_approval_is_bound_to_its_statement_connection_and_member(
    team: Team, mismatch: str
) -> None:
    connection_id = uuid.uuid4()
    sql = "DELETE FROM sessions"
    token = post(
        team,
        "member",
        "ai/approvals",
        {"sql": sql, "dialect": "postgres", "connection_id": str(connection_id)},
    ).json()["token"]
    if mismatch == "sql":
        response = approve(team, "member", token, sql + " WHERE true", connection_id)
        assert response.status_code == 403
    elif mismatch == "connection":
        response = approve(team, "member", token, sql, uuid.uuid4())
        assert response.status_code == 403
    elif mismatch == "member":
        # Another member's token is no token at all to them (tests/ai/test_workspace_binding.py),
        # and stays for its member.
        response = approve(team, "admin", token, sql, connection_id)
        assert response.status_code == 410
        assert approve(team, "member", token, sql, connection_id).status_code == 200
        return
    else:
        response = team.client("outsider").post(
            url(team, "ai/approvals/approve"),
            {"token": token, "sql": sql, "connection_id": str(connection_id)},
            format="json",
        )
        assert response.status_code == 404
        return
    assert response.json()["error"]["code"] == "approval_refused"
    # A refused use consumes it: the right one now finds it gone.
    assert approve(team, "member", token, sql, connection_id).status_code == 410


def test_approvals_expire(team: Team) -> None:
    with override_settings(AI_APPROVAL_TTL_SECONDS=1):
        token = post(
            team, "member", "ai/approvals", {"sql": "DROP TABLE t", "dialect": "sqlite"}
        ).json()["token"]
    time.sleep(1.2)
    response = approve(team, "member", token, "DROP TABLE t")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "approval_expired"


def test_a_workspace_can_ask_approval_for_all_ai_sql(team: Team) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        team.workspace.ai_approve_all_sql = True
        team.workspace.save(update_fields=["ai_approve_all_sql"])
    response = post(team, "member", "ai/approvals", {"sql": "SELECT 1", "dialect": "postgres"})
    assert response.status_code == 201
    assert response.json()["required"] is True
    assert approve(team, "member", response.json()["token"], "SELECT 1").status_code == 200


# ---------------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------------
def test_usage_per_month_model_and_member(team: Team) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        usage_record(
            workspace_id=team.workspace.pk,
            user_id=team.member.pk,
            model="a",
            input_tokens=10,
            output_tokens=5,
        )
        usage_record(
            workspace_id=team.workspace.pk, user_id=team.member.pk, model="a", input_tokens=1
        )
        usage_record(
            workspace_id=team.workspace.pk, user_id=team.admin.pk, model="b", output_tokens=7
        )
    with db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk):
        usage_record(
            workspace_id=team.other_workspace.pk, user_id=team.outsider.pk, model="c", requests=50
        )

    response = team.client("member").get(url(team, "ai/usage"))
    assert response.status_code == 200
    body = response.json()
    assert (body["requests"], body["input_tokens"], body["output_tokens"], body["tokens"]) == (
        3,
        11,
        12,
        23,
    )
    assert body["plan"] == "team"
    assert body["limits"] == {"requests": 10_000, "tokens": 25_000_000}
    assert body["by_model"] == [
        {"model": "a", "requests": 2, "input_tokens": 11, "output_tokens": 5},
        {"model": "b", "requests": 1, "input_tokens": 0, "output_tokens": 7},
    ]
    assert "by_user" not in body  # members see the workspace's totals only

    admin_view = team.client("admin").get(url(team, "ai/usage")).json()
    assert {row["email"]: row["requests"] for row in admin_view["by_user"]} == {
        "adam@example.com": 1,
        "bob@example.com": 2,
    }
    assert (
        team.client("member").get(url(team, "ai/usage") + "?month=2001-01").json()["requests"] == 0
    )
    assert team.client("member").get(url(team, "ai/usage") + "?month=01-2001x").status_code == 400
    assert team.client("outsider").get(url(team, "ai/usage")).status_code == 404


def test_usage_outlives_the_members_account(team: Team) -> None:
    from accounts.services.account import account_delete

    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        usage_record(workspace_id=team.workspace.pk, user_id=team.member.pk, model="m", requests=5)
    account_delete(user=team.member, request=None)
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = AiUsage.objects.get(workspace=team.workspace)
    assert row.user_id is None
    assert row.requests == 5  # still counted against the workspace's month


def test_usage_goes_with_its_workspace(team: Team) -> None:
    from workspaces.services import destroy_workspace

    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        usage_record(workspace_id=team.workspace.pk, user_id=team.member.pk, model="m")
        destroy_workspace(team.workspace)
        assert not AiUsage.objects.exists()


def test_admin_view_lists_usage_across_workspaces_read_only(team: Team) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        usage_record(
            workspace_id=team.workspace.pk, user_id=team.member.pk, model="claude", requests=3
        )
    with db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk):
        usage_record(
            workspace_id=team.other_workspace.pk, user_id=team.outsider.pk, model="gpt", requests=4
        )
    staff: Any = UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/ai/aiusage/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "claude" in page
    assert "gpt" in page
    assert "7 requests" in page
    assert client.get("/admin/ai/aiusage/add/").status_code == 403


# ---------------------------------------------------------------------------------------------
# The chat endpoint's refusals (JSON, before any stream)
# ---------------------------------------------------------------------------------------------
def send(team: Team, who: str, chat_id: Any, body: dict[str, Any]) -> Any:
    payload = {"id": str(chat_id), "trigger": "submit-message", **body}
    return post(team, who, f"chats/{chat_id}/messages", payload)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"messages": [{"id": "abc", "role": "user", "parts": []}]},
            "messages",
            "The id of a new message must be a UUID (the AI SDK's generateId option: "
            "() => crypto.randomUUID()).",
        ),
        ({"messages": []}, "messages", None),
        ({"messages": [{"id": "x", "role": "robot", "parts": []}]}, "messages", None),
        (
            {"messages": [{"id": str(uuid.uuid4()), "role": "system", "parts": []}]},
            "messages",
            None,
        ),
        ({"messages": [user_message("q")], "context": {"dialect": "db2"}}, "context", None),
        (
            {"messages": [user_message("q")], "context": {"connection_id": str(uuid.uuid4())}},
            "context.connection_id",
            "No connection with this id.",
        ),
        ({"messages": [user_message("q")], "id": str(uuid.uuid4())}, "id", None),
        ({"messages": [user_message("q")], "trigger": "resume-stream"}, "trigger", None),
    ],
)
def test_chat_requests_that_are_refused(
    team: Team, body: dict[str, Any], field: str, message: str | None
) -> None:
    chat_id = uuid.uuid4()
    payload = {"id": str(chat_id), "trigger": "submit-message", **body}
    response = post(team, "member", f"chats/{chat_id}/messages", payload)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    if message:
        assert error["fields"][field] == [message]


def test_someone_elses_chat_is_not_found(team: Team) -> None:
    from chats import services as chat_services

    chat_id = uuid.uuid4()
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        chat_services.chat_start(
            workspace_id=team.workspace.pk, user=team.owner, chat_id=chat_id, connection_id=None
        )
    response = send(team, "member", chat_id, {"messages": [user_message("hi")]})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Chat not found.",
        "request_id": response.json()["error"]["request_id"],
    }


@pytest.mark.parametrize("taken_by", ["member", "owner"])
def test_a_message_id_taken_elsewhere_is_a_conflict_and_writes_nothing(
    team: Team, taken_by: str
) -> None:
    """The member's own message in another chat, or (invisible to them) a teammate's: the new
    chat's first message cannot take its id, and the request leaves nothing behind."""
    from chats import services as chat_services
    from chats.models import Chat, ChatMessage

    owner = team.user(taken_by)
    first_chat, second_chat = uuid.uuid4(), uuid.uuid4()
    message = user_message("hi")
    with db_context(workspace_id=team.workspace.pk, user_id=owner.pk):
        chat_services.chat_start(
            workspace_id=team.workspace.pk, user=owner, chat_id=first_chat, connection_id=None
        )
        chat_services.user_message_create(
            workspace_id=team.workspace.pk,
            user=owner,
            chat_id=first_chat,
            message_id=uuid.UUID(message["id"]),
            parts=message["parts"],
            metadata=None,
        )
    response = send(team, "member", second_chat, {"messages": [message]})
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "already_exists"
    with db_context(workspace_id=team.workspace.pk, user_id=owner.pk):
        assert not Chat.objects.filter(workspace_id=team.workspace.pk, id=second_chat).exists()
        stored = ChatMessage.objects.get(workspace_id=team.workspace.pk, id=message["id"])
        assert stored.chat_id == first_chat
