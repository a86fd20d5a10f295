"""A generation in process, against each provider dialect (Anthropic Messages, OpenAI Responses,
OpenAI Chat Completions) through the real SDKs and the fake LLM server: the chunks it appends to
Redis and the message it stores (ai/services/generation.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from ai import streams
from ai.models import AiUsage
from ai.services import chat_stream
from ai.services.generation import TOO_LONG, generation_run
from chats.entity import ChatMessageEntity
from chats.models import Chat, ChatMessage
from core.tenancy import db_context
from tests.ai.conftest import user_message
from tests.factories import UserFactory, make_workspace
from tests.fakes.llm_server import FakeLLMServer, ScriptedToolCall, stream_error, text, tool_call
from workspaces.models import Membership

pytestmark = pytest.mark.django_db

DIALECTS = ["anthropic", "openai", "openai_chat"]


@pytest.fixture
def owner() -> Any:
    user = UserFactory()
    workspace = make_workspace(user, "Gen")
    with db_context(workspace_id=workspace.pk, user_id=user.pk):
        membership = Membership.objects.select_related("workspace", "user").get(
            workspace=workspace, user=user
        )
    return membership


@pytest.fixture
def provider(request: pytest.FixtureRequest, fake_llm: FakeLLMServer) -> Iterator[str]:
    name = getattr(request, "param", "anthropic")
    with override_settings(**fake_llm.settings(order=(name,))):
        yield name


def start(membership: Any, *messages: dict[str, Any], **context: Any) -> chat_stream.ReplyStarted:
    with db_context(workspace_id=membership.workspace_id, user_id=membership.user_id):
        return chat_stream.chat_reply_start(
            membership=membership,
            chat_id=uuid.uuid4(),
            messages=list(messages) or [user_message("How many users?")],
            trigger="submit-message",
            message_id=None,
            context=context,
        )


def go(membership: Any, started: chat_stream.ReplyStarted) -> bool:
    """What the Celery task does with its arguments."""
    return generation_run(
        generation_id=started.generation_id,
        workspace_id=str(membership.workspace_id),
        user_id=str(membership.user_id),
        chat_id=started.chat_id,
    )


def run(membership: Any, *messages: dict[str, Any], **context: Any) -> tuple[Any, list[dict]]:
    started = start(membership, *messages, **context)
    assert go(membership, started)
    return started, chunks_of(started.generation_id)


def chunks_of(generation_id: str) -> list[dict[str, Any]]:
    out = []
    for _, fields in streams.redis_client().xrange(streams.chunks_key(generation_id)):
        if b"end" in fields:
            out.append({"type": "<end>"})
        else:
            chunk = json.loads(fields[b"d"])
            assert fields[b"t"].decode() == chunk["type"]
            out.append(chunk)
    return out


def stored(membership: Any, message_id: str) -> tuple[ChatMessage, list[dict[str, Any]]]:
    with db_context(workspace_id=membership.workspace_id, user_id=membership.user_id):
        row = ChatMessage.objects.get(id=message_id)
        return row, ChatMessageEntity.read(row, "parts")


def types(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["type"] for c in chunks]


@pytest.mark.parametrize("provider", DIALECTS, indirect=True)
def test_text_answer(owner: Any, provider: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("Two users.", usage=(40, 3)))
    started, chunks = run(owner)
    assert types(chunks) == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "finish-step",
        "finish",
        "<end>",
    ]
    assert chunks[0] == {"type": "start", "messageId": started.message_id}
    assert "".join(c.get("delta", "") for c in chunks) == "Two users."
    finish = chunks[-2]
    assert finish["finishReason"] == "stop"
    assert finish["messageMetadata"]["input_tokens"] == 40
    assert finish["messageMetadata"]["provider"] == provider
    row, parts = stored(owner, started.message_id)
    assert parts == [
        {"type": "step-start"},
        {"type": "text", "text": "Two users.", "state": "done"},
    ]
    assert (row.input_tokens, row.output_tokens, row.finish_reason) == (40, 3, "stop")
    assert streams.generation_info(started.generation_id).status == streams.DONE  # type: ignore[union-attr]
    with db_context(workspace_id=owner.workspace_id, user_id=owner.user_id):
        assert AiUsage.objects.get().requests == 1
        assert Chat.objects.get(id=started.chat_id).active_stream_id == ""


@pytest.mark.parametrize("provider", DIALECTS, indirect=True)
def test_tool_calls(owner: Any, provider: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(
        tool_call(
            "describe_table",
            {"table": "users"},
            id="call_1",
            text_before="Let me look.",
            more=[ScriptedToolCall("list_enums", {}, "call_2")],
        )
    )
    started, chunks = run(owner)
    kinds = types(chunks)
    assert kinds.index("text-end") < kinds.index("tool-input-start")
    starts = [c for c in chunks if c["type"] == "tool-input-start"]
    assert [(c["toolCallId"], c["toolName"]) for c in starts] == [
        ("call_1", "describe_table"),
        ("call_2", "list_enums"),
    ]
    deltas = "".join(
        c["inputTextDelta"]
        for c in chunks
        if c["type"] == "tool-input-delta" and c["toolCallId"] == "call_1"
    )
    assert json.loads(deltas) == {"table": "users"}
    available = [c for c in chunks if c["type"] == "tool-input-available"]
    assert [c["input"] for c in available] == [{"table": "users"}, {}]
    assert chunks[-2]["finishReason"] == "tool-calls"
    _, parts = stored(owner, started.message_id)
    assert [p["type"] for p in parts] == [
        "step-start",
        "text",
        "tool-describe_table",
        "tool-list_enums",
    ]
    assert parts[2]["state"] == "input-available"


@pytest.mark.parametrize("provider", ["anthropic", "openai"], indirect=True)
def test_reasoning(owner: Any, provider: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("42.", reasoning="Think first."))
    started, chunks = run(owner)
    kinds = types(chunks)
    assert kinds.index("reasoning-start") < kinds.index("reasoning-end") < kinds.index("text-start")
    assert "".join(c["delta"] for c in chunks if c["type"] == "reasoning-delta") == "Think first."
    _, parts = stored(owner, started.message_id)
    assert [p["type"] for p in parts] == ["step-start", "reasoning", "text"]


def test_anthropic_reasoning_signature_goes_back_to_the_model(
    owner: Any, provider: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue(tool_call("list_tables", {}, id="t1"), text("Done."))
    started, _ = run(owner)
    _, parts = stored(owner, started.message_id)
    question = user_message("How many users?")
    assistant = {
        "id": started.message_id,
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "reasoning",
                "text": "thinking",
                "providerMetadata": {"anthropic": {"signature": "sig-1"}},
            },
            {**parts[1], "state": "output-available", "output": ["users"]},
        ],
    }
    with db_context(workspace_id=owner.workspace_id, user_id=owner.user_id):
        second = chat_stream.chat_reply_start(
            membership=owner,
            chat_id=uuid.UUID(started.chat_id),
            messages=[question, assistant],
            trigger="submit-message",
            message_id=started.message_id,
            context={},
        )
    go(owner, second)
    body = fake_llm.requests[-1].body
    assistant_turn = body["messages"][1]
    assert assistant_turn["role"] == "assistant"
    assert assistant_turn["content"][0] == {
        "type": "thinking",
        "thinking": "thinking",
        "signature": "sig-1",
    }
    assert body["messages"][2]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize("provider", DIALECTS, indirect=True)
def test_error_mid_stream(owner: Any, provider: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(stream_error("overloaded", after_tokens=1))
    started, chunks = run(owner)
    assert types(chunks)[-4:] == ["text-end", "error", "finish", "<end>"]
    # The provider's own words, as ai.providers maps them (no stack trace, no raw body).
    assert chunks[-3]["errorText"] in {
        "The AI provider is overloaded right now. Please try again in a minute.",
        "The AI provider is unavailable right now. Please try again in a minute.",
    }
    row, _ = stored(owner, started.message_id)
    assert row.finish_reason == "error"
    assert streams.generation_info(started.generation_id).status == streams.FAILED  # type: ignore[union-attr]


def test_no_provider_configured(owner: Any) -> None:
    with override_settings(
        ANTHROPIC_API_KEY=None, OPENAI_API_KEY=None, AI_COMPATIBLE_BASE_URL=None
    ):
        _, chunks = run(owner)
    assert [c for c in chunks if c["type"] == "error"] == [
        {"type": "error", "errorText": "The AI assistant is not configured on this server."}
    ]
    with db_context(workspace_id=owner.workspace_id, user_id=owner.user_id):
        assert not AiUsage.objects.exists()  # nothing reached a provider
        assert not ChatMessage.objects.filter(role="assistant").exists()


def test_a_generation_past_its_chunk_cap_is_cut(
    owner: Any, provider: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue(text(" ".join(f"w{i}" for i in range(300))))
    with override_settings(AI_STREAM_MAX_CHUNKS=100):
        started, chunks = run(owner)
    assert len(chunks) < 110
    assert {"type": "error", "errorText": TOO_LONG} in chunks
    row, _ = stored(owner, started.message_id)
    assert row.finish_reason == "error"


def test_stop_before_the_worker_starts(owner: Any, provider: str, fake_llm: FakeLLMServer) -> None:
    started = start(owner)
    assert streams.generation_request_stop(started.generation_id)
    go(owner, started)
    chunks = chunks_of(started.generation_id)
    assert types(chunks) == ["start", "start-step", "abort", "<end>"]
    assert fake_llm.requests == []  # the provider was never called
    with db_context(workspace_id=owner.workspace_id, user_id=owner.user_id):
        assert not ChatMessage.objects.filter(role="assistant").exists()


def test_a_second_delivery_does_nothing(owner: Any, provider: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("once"))
    started = start(owner)
    assert go(owner, started)
    assert not go(owner, started)
    assert len(fake_llm.requests) == 1


def test_schema_is_selected_and_announced(
    owner: Any, provider: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue(text("ok"))
    schema = {
        "tables": [
            {"name": f"t{i}", "columns": [{"name": f"c{j}", "type": "text"} for j in range(40)]}
            for i in range(300)
        ]
        + [{"name": "users", "columns": [{"name": "id", "type": "int", "primary_key": True}]}]
    }
    with override_settings(AI_SCHEMA_TOKEN_BUDGET=500):
        _, chunks = run(owner, user_message("count the users"), schema=schema)
    announced = next(c for c in chunks if c["type"] == "data-schema")
    assert announced["transient"] is True
    assert announced["data"]["tables_total"] == 301
    assert announced["data"]["tables"][0] == "users"
    assert announced["data"]["truncated"] is True
    system = fake_llm.requests[-1].body["system"]
    assert "users(id int PK)" in system
    assert "list_tables and describe_table" in system


def test_workspace_that_approves_all_sql_gets_approvals_for_reads(
    owner: Any, provider: str, fake_llm: FakeLLMServer
) -> None:
    with db_context(workspace_id=owner.workspace_id, user_id=owner.user_id):
        owner.workspace.ai_approve_all_sql = True
        owner.workspace.save(update_fields=["ai_approve_all_sql"])
    fake_llm.enqueue(tool_call("run_readonly_query", {"sql": "select 1"}, id="q1"))
    _, chunks = run(owner, dialect="postgres")
    available = next(c for c in chunks if c["type"] == "tool-input-available")
    assert available["input"]["sql"] == "SELECT 1 LIMIT 200"
    assert available["input"]["guardrail"]["allowed_readonly"] is True
    approval = next(c for c in chunks if c["type"] == "tool-approval-request")
    assert approval == {
        "type": "tool-approval-request",
        "approvalId": available["input"]["approval"]["token"],
        "toolCallId": "q1",
    }


def test_queries_are_checked_in_the_dialect_of_the_chat(
    owner: Any, provider: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue(
        tool_call("run_readonly_query", {"sql": "SELECT SLEEP(10)"}, id="q1"),
    )
    _, chunks = run(owner, dialect="mysql")
    available = next(c for c in chunks if c["type"] == "tool-input-available")
    assert available["input"]["guardrail"]["allowed_readonly"] is False
    assert "approval" in available["input"]
    assert "MySQL" in fake_llm.requests[-1].body["system"]


def test_a_task_whose_arguments_do_not_match_its_generation_is_refused(
    owner: Any, provider: str, fake_llm: FakeLLMServer
) -> None:
    started = start(owner)
    other = UserFactory()
    assert not generation_run(
        generation_id=started.generation_id,
        workspace_id=str(owner.workspace_id),
        user_id=str(other.pk),
        chat_id=started.chat_id,
    )
    assert fake_llm.requests == []
    assert types(chunks_of(started.generation_id))[-2:] == ["error", "<end>"]
