"""Chat replies end to end: the real web stack (gunicorn + uvicorn), a real Celery worker, real
Redis and PostgreSQL, and the real provider SDKs against the fake LLM server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from django.db import connection

from ai.models import AiUsage
from chats import selectors as chat_selectors
from chats.entity import ChatMessageEntity
from chats.models import Chat, ChatMessage
from core.tenancy import db_context
from tests.ai.conftest import Live, read_sse, user_message
from tests.fakes.llm_server import (
    FakeLLMServer,
    ScriptedToolCall,
    overloaded,
    stream_error,
    text,
    tool_call,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

V6 = {"User-Agent": "ai-sdk/6.0.0 runtime/node.js/20"}


def send(
    live: Live,
    chat_id: uuid.UUID | str,
    messages: list[dict[str, Any]],
    *,
    who: str = "owner",
    headers: dict[str, str] | None = None,
    timeout: float = 20,
    **body: Any,
) -> Any:
    payload = {"id": str(chat_id), "messages": messages, "trigger": "submit-message", **body}
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream(
            "POST",
            live.ws_url(f"chats/{chat_id}/messages"),
            json=payload,
            headers=live.headers(who, **(headers or {})),
        ) as response,
    ):
        return read_sse(response)


def wait_for(condition: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def stored_messages(live: Live, chat_id: Any, user: Any = None) -> list[ChatMessage]:
    user = user or live.owner
    with db_context(workspace_id=live.workspace.pk, user_id=user.pk):
        return list(
            ChatMessage.objects.filter(chat_id=chat_id, deleted=False).order_by("created_at")
        )


def parts_of(live: Live, message: ChatMessage) -> Any:
    with db_context(workspace_id=live.workspace.pk, user_id=message.author_id):
        return ChatMessageEntity.read(message, "parts")


def chat_row(live: Live, chat_id: Any) -> Chat | None:
    with db_context(workspace_id=live.workspace.pk, user_id=live.owner.pk):
        return Chat.objects.filter(id=chat_id).first()


def chat_title(live: Live, chat_id: Any) -> str:
    """The chat's title, decrypted ("" until the worker has written one)."""
    with db_context(workspace_id=live.workspace.pk, user_id=live.owner.pk):
        chat = Chat.objects.filter(id=chat_id).first()
        return chat_selectors.chat_title(chat) if chat is not None else ""


# ---------------------------------------------------------------------------------------------
def test_plain_answer_streams_the_protocol_and_is_saved(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(text("Use SELECT count(*) FROM users;", usage=(120, 9), path="/messages"))
    chat_id = uuid.uuid4()
    question = user_message("How many users are there?")

    result = send(live, chat_id, [question], headers=V6, context={"dialect": "postgres"})

    assert result.status == 200, result.body
    assert result.headers["content-type"] == "text/event-stream"
    assert result.headers["cache-control"] == "no-cache"
    assert result.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert result.headers["x-accel-buffering"] == "no"
    types = result.types()
    assert types[0] == "start"
    message_id = result.chunks[0]["messageId"]
    assert uuid.UUID(message_id)
    assert types[1] == "start-step"
    assert types[2] == "text-start"
    assert types[-3:] == ["text-end", "finish-step", "finish"]
    assert result.text() == "Use SELECT count(*) FROM users;"
    finish = result.chunks[-1]
    assert finish["finishReason"] == "stop"
    assert finish["messageMetadata"]["model"] == "claude-fake"
    assert finish["messageMetadata"]["input_tokens"] == 120
    assert result.done
    # Every data line has an id; they are ordered stream entries of one generation.
    assert all(result.ids)
    generations = {i.split(":")[0] for i in result.ids}
    assert len(generations) == 1
    assert result.done_id
    assert result.done_id.startswith(generations.pop() + ":")

    # Stored: the user's message and the reply, encrypted, with model, usage and finish reason.
    messages = stored_messages(live, chat_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert str(messages[0].id) == question["id"]
    reply = messages[1]
    assert str(reply.id) == message_id
    assert (reply.model, reply.input_tokens, reply.output_tokens, reply.finish_reason) == (
        "claude-fake",
        120,
        9,
        "stop",
    )
    parts = parts_of(live, reply)
    assert [p["type"] for p in parts] == ["step-start", "text"]
    assert parts[1] == {"type": "text", "text": "Use SELECT count(*) FROM users;", "state": "done"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT parts_encrypted FROM chats_chatmessage")
        assert all("count(*)" not in row[0] and "users" not in row[0] for row in cursor)
    chat = chat_row(live, chat_id)
    assert chat is not None
    assert chat.active_stream_id == ""
    assert chat.author_id == live.owner.pk

    # Usage counted for the month; the chat gets a title (the fake's default answer is no JSON,
    # so the title falls back to the question).
    with db_context(workspace_id=live.workspace.pk, user_id=live.owner.pk):
        usage = AiUsage.objects.get(workspace=live.workspace, model="claude-fake")
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (1, 120, 9)
    wait_for(lambda: chat_title(live, chat_id))
    assert chat_title(live, chat_id) == "How many users are there?"

    # The provider got our system prompt and the question.
    chat_request = next(r for r in llm.requests if r.path.endswith("/messages"))
    assert "PostgreSQL" in chat_request.body["system"]
    assert chat_request.body["messages"][-1]["content"][0]["text"] == "How many users are there?"
    assert {t["name"] for t in chat_request.body["tools"]} == {
        "list_tables",
        "describe_table",
        "list_enums",
        "run_readonly_query",
    }


def test_clients_before_ai6_get_no_finish_reason(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(text("Hi.", path="/messages"))
    result = send(live, uuid.uuid4(), [user_message("hello")])
    assert result.status == 200
    finish = result.of("finish")[0]
    assert "finishReason" not in finish
    assert finish["messageMetadata"]["finish_reason"] == "stop"


def test_model_titles_a_new_chat(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(
        text("Sure.", path="/messages"),
        text('{"title": "Counting users"}', path="/responses"),
    )
    chat_id = uuid.uuid4()
    assert send(live, chat_id, [user_message("count users")]).done
    wait_for(lambda: chat_title(live, chat_id))
    assert chat_title(live, chat_id) == "Counting users"


def test_provider_error_becomes_an_error_chunk_with_the_user_message(
    live: Live, llm: FakeLLMServer
) -> None:
    llm.enqueue(overloaded(path="/messages"))
    chat_id = uuid.uuid4()
    result = send(live, chat_id, [user_message("hi")], headers=V6)
    assert result.status == 200
    assert result.types()[:2] == ["start", "start-step"]
    errors = result.of("error")
    assert errors == [
        {
            "type": "error",
            "errorText": "The AI provider is overloaded right now. Please try again in a minute.",
        }
    ]
    assert result.chunks[-1]["type"] == "finish"
    assert result.done
    # Nothing was written, so only the user's message is stored; the chat is free again.
    assert [m.role for m in stored_messages(live, chat_id)] == ["user"]
    assert chat_row(live, chat_id).active_stream_id == ""  # type: ignore[union-attr]


def test_error_mid_stream_keeps_the_partial_answer(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(stream_error("overloaded", after_tokens=2, path="/messages"))
    chat_id = uuid.uuid4()
    result = send(live, chat_id, [user_message("hi")], headers=V6)
    types = result.types()
    assert "text-start" in types
    assert "text-end" in types
    assert types.index("text-end") < types.index("error")
    assert result.text() == "one two"
    reply = stored_messages(live, chat_id)[-1]
    assert reply.role == "assistant"
    assert reply.finish_reason == "error"


def test_outsiders_viewers_and_other_members_get_nothing(live: Live, llm: FakeLLMServer) -> None:
    chat_id = uuid.uuid4()
    llm.enqueue(text("mine", path="/messages"))
    assert send(live, chat_id, [user_message("mine")]).done

    # charlie (another workspace): the workspace does not exist for him.
    result = send(live, chat_id, [user_message("x")], who="outsider")
    assert result.status == 404
    # vera (viewer) may not chat; bob (member) cannot reach alice's chat by its id.
    assert send(live, chat_id, [user_message("x")], who="viewer").status == 403
    result = send(live, chat_id, [user_message("x")], who="member")
    assert result.status == 404
    assert '"code":"not_found"' in result.body.replace(" ", "")
    for who in ("member", "outsider"):
        response = httpx.get(live.ws_url(f"chats/{chat_id}/stream"), headers=live.headers(who))
        assert response.status_code == 404
        response = httpx.post(live.ws_url(f"chats/{chat_id}/stop"), headers=live.headers(who))
        assert response.status_code == 404
    assert len(stored_messages(live, chat_id)) == 2


def test_tool_call_round_trip_reuses_the_message_id(live: Live, llm: FakeLLMServer) -> None:
    chat_id = uuid.uuid4()
    llm.enqueue(
        tool_call("list_tables", {"filter": "user"}, id="toolu_1", path="/messages"),
        text("There is one table: users.", path="/messages"),
    )
    question = user_message("Which tables hold users?")
    first = send(live, chat_id, [question], headers=V6, context={"dialect": "postgres"})
    assert first.of("tool-input-start") == [
        {"type": "tool-input-start", "toolCallId": "toolu_1", "toolName": "list_tables"}
    ]
    assert first.of("tool-input-available")[0]["input"] == {"filter": "user"}
    assert first.chunks[-1]["finishReason"] == "tool-calls"
    message_id = first.chunks[0]["messageId"]

    # The client runs the tool and sends the result (the AI SDK's addToolOutput flow).
    assistant = {
        "id": message_id,
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-list_tables",
                "toolCallId": "toolu_1",
                "state": "output-available",
                "input": {"filter": "user"},
                "output": [{"schema": "public", "name": "users"}],
            },
        ],
    }
    second = send(live, chat_id, [question, assistant], headers=V6)
    assert second.chunks[0] == {"type": "start", "messageId": message_id}
    assert second.text() == "There is one table: users."
    assert second.chunks[-1]["finishReason"] == "stop"

    # The model saw its call and the client's result.
    body = llm.requests[-1].body
    blocks = [b for m in body["messages"] for b in m["content"] if isinstance(m["content"], list)]
    assert any(b.get("type") == "tool_use" and b["id"] == "toolu_1" for b in blocks)
    result = next(b for b in blocks if b.get("type") == "tool_result")
    assert "users" in str(result["content"])

    # One assistant message, holding both steps and the tool's output; tokens of both steps.
    messages = stored_messages(live, chat_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = messages[1]
    parts = parts_of(live, reply)
    assert [p["type"] for p in parts] == ["step-start", "tool-list_tables", "step-start", "text"]
    assert parts[1]["state"] == "output-available"
    assert parts[1]["output"] == [{"schema": "public", "name": "users"}]
    assert reply.input_tokens == 21 + 11
    assert reply.finish_reason == "stop"


def test_read_query_is_limited_and_a_write_asks_for_approval(
    live: Live, llm: FakeLLMServer
) -> None:
    llm.enqueue(
        tool_call(
            "run_readonly_query",
            {"sql": "SELECT * FROM users"},
            id="toolu_r",
            more=[ScriptedToolCall("run_readonly_query", {"sql": "DELETE FROM users"}, "toolu_w")],
            path="/messages",
        )
    )
    chat_id = uuid.uuid4()
    result = send(live, chat_id, [user_message("clean up")], headers=V6)
    available = {c["toolCallId"]: c["input"] for c in result.of("tool-input-available")}
    assert available["toolu_r"]["sql"] == "SELECT * FROM users LIMIT 200"
    assert available["toolu_r"]["guardrail"]["allowed_readonly"] is True
    assert "approval" not in available["toolu_r"]
    # The write never becomes "available" to an ai@6 client (its onToolCall would run it): the
    # client has the streamed input and an approval request instead.
    assert "toolu_w" not in available
    streamed = "".join(
        c["inputTextDelta"] for c in result.of("tool-input-delta") if c["toolCallId"] == "toolu_w"
    )
    assert json.loads(streamed) == {"sql": "DELETE FROM users"}
    approvals = result.of("tool-approval-request")
    assert [set(a) for a in approvals] == [{"type", "approvalId", "toolCallId"}]
    assert approvals[0]["toolCallId"] == "toolu_w"
    token = approvals[0]["approvalId"]
    assert result.chunks[-1]["finishReason"] == "tool-calls"
    # The stored message has the call waiting for approval, with the verdict and the token.
    stored = parts_of(live, stored_messages(live, chat_id)[-1])
    write = next(p for p in stored if p.get("toolCallId") == "toolu_w")
    assert write["state"] == "approval-requested"
    assert write["approval"] == {"id": token}
    assert write["input"]["guardrail"]["kind"] == "write"
    assert write["input"]["approval"]["token"] == token

    # ai@5 clients get the call's input with the token: no chunk type they cannot parse.
    llm.enqueue(
        tool_call("run_readonly_query", {"sql": "DROP TABLE users"}, id="t3", path="/messages")
    )
    legacy = send(live, uuid.uuid4(), [user_message("drop it")])
    assert legacy.of("tool-approval-request") == []
    legacy_input = legacy.of("tool-input-available")[0]["input"]
    assert legacy_input["sql"] == "DROP TABLE users"
    assert legacy_input["guardrail"]["kind"] == "ddl"
    assert legacy_input["approval"]["token"]

    # The token approves exactly that statement, once.
    approve = httpx.post(
        live.ws_url("ai/approvals/approve"),
        json={"token": token, "sql": "DELETE FROM users"},
        headers=live.headers(),
    )
    assert approve.status_code == 200, approve.text
    assert approve.json()["sql"] == "DELETE FROM users"
    again = httpx.post(
        live.ws_url("ai/approvals/approve"),
        json={"token": token, "sql": "DELETE FROM users"},
        headers=live.headers(),
    )
    assert again.status_code == 410


def test_reasoning_is_streamed_before_the_text(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(text("Answer.", reasoning="Let me think.", path="/messages"))
    chat_id = uuid.uuid4()
    result = send(live, chat_id, [user_message("think")], headers=V6)
    types = result.types()
    assert types.index("reasoning-start") < types.index("reasoning-end") < types.index("text-start")
    reasoning = "".join(c["delta"] for c in result.of("reasoning-delta"))
    assert reasoning == "Let me think."
    end = result.of("reasoning-end")[0]
    assert set(end) <= {"type", "id", "providerMetadata"}
    parts = parts_of(live, stored_messages(live, chat_id)[-1])
    assert [p["type"] for p in parts] == ["step-start", "reasoning", "text"]


# ---------------------------------------------------------------------------------------------
# Resume, Last-Event-ID, disconnects and stop
# ---------------------------------------------------------------------------------------------
def slow(count: int, prefix: str = "w", delay: float = 0.05, **kwargs: Any) -> Any:
    tokens = [f"{prefix}{i}" if i == 0 else f" {prefix}{i}" for i in range(count)]
    return text(tokens, delay=delay, path="/messages", **kwargs)


def words(count: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(count))


def open_and_leave(live: Live, chat_id: uuid.UUID, question: dict[str, Any], chunks: int) -> Any:
    """Send a message, read a few chunks, hang up."""
    payload = {"id": str(chat_id), "messages": [question], "trigger": "submit-message"}
    with (
        httpx.Client(timeout=20) as client,
        client.stream(
            "POST",
            live.ws_url(f"chats/{chat_id}/messages"),
            json=payload,
            headers=live.headers(**V6),
        ) as response,
    ):
        return read_sse(response, max_chunks=chunks)


def resume(live: Live, chat_id: Any, **headers: str) -> Any:
    with (
        httpx.Client(timeout=20) as client,
        client.stream(
            "GET", live.ws_url(f"chats/{chat_id}/stream"), headers=live.headers(**V6, **headers)
        ) as response,
    ):
        return read_sse(response)


def test_resume_replays_from_the_first_chunk_then_follows_live(
    live: Live, llm: FakeLLMServer
) -> None:
    llm.enqueue(slow(30))
    chat_id = uuid.uuid4()
    first = open_and_leave(live, chat_id, user_message("story"), chunks=5)
    assert first.types()[0] == "start"

    resumed = resume(live, chat_id)
    assert resumed.status == 200
    assert resumed.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert resumed.chunks[0] == first.chunks[0]  # the same start, the same message id
    assert resumed.ids[:5] == first.ids[:5]  # the same events, from the first
    assert resumed.text() == words(30)
    assert resumed.chunks[-1]["type"] == "finish"
    assert resumed.done
    # Nothing active any more: 204, which the AI SDK reads as "nothing to resume".
    response = httpx.get(live.ws_url(f"chats/{chat_id}/stream"), headers=live.headers())
    assert response.status_code == 204
    assert response.content == b""


def test_last_event_id_resumes_right_after_that_event(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(slow(20))
    chat_id = uuid.uuid4()
    first = open_and_leave(live, chat_id, user_message("story"), chunks=6)
    # An EventSource reconnecting says which event it saw last.
    rest = resume(live, chat_id, **{"Last-Event-ID": first.ids[5], "Accept": "text/event-stream"})
    assert rest.status == 200
    assert rest.ids[0] > first.ids[5]
    assert (first.chunks + rest.chunks)[0]["type"] == "start"
    assert "".join(
        c["delta"] for c in first.chunks + rest.chunks if c["type"] == "text-delta"
    ) == words(20)
    assert rest.done
    # Having seen the end, it is told there is nothing more (204 stops an EventSource).
    response = httpx.get(
        live.ws_url(f"chats/{chat_id}/stream"),
        headers=live.headers(**{"Last-Event-ID": rest.done_id or ""}),
    )
    assert response.status_code == 204
    # An id from another chat or of garbage gives nothing either.
    for bogus in ("nonsense", f"{'0' * 16}:1-0"):
        response = httpx.get(
            live.ws_url(f"chats/{chat_id}/stream"), headers=live.headers(**{"Last-Event-ID": bogus})
        )
        assert response.status_code == 204


def test_a_client_that_hangs_up_does_not_stop_the_generation(
    live: Live, llm: FakeLLMServer
) -> None:
    llm.enqueue(slow(20))
    chat_id = uuid.uuid4()
    first = open_and_leave(live, chat_id, user_message("story"), chunks=4)
    message_id = first.chunks[0]["messageId"]

    def saved() -> Any:
        rows = [m for m in stored_messages(live, chat_id) if str(m.id) == message_id]
        return rows[0] if rows else None

    reply = wait_for(saved, timeout=15)
    assert reply.finish_reason == "stop"
    assert parts_of(live, reply)[-1]["text"] == words(20)
    assert llm.disconnects == []  # the provider was never cut off


def test_stop_ends_the_provider_stream_within_a_second(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(slow(200))
    chat_id = uuid.uuid4()
    payload = {"id": str(chat_id), "messages": [user_message("count")], "trigger": "submit-message"}
    stop_status: list[int] = []
    stopped_at: list[float] = []

    def stop_after_three(chunk: dict[str, Any]) -> bool:
        if chunk["type"] == "text-delta" and not stop_status:
            deltas.append(chunk)
            if len(deltas) == 3:
                stopped_at.append(time.monotonic())
                response = httpx.post(live.ws_url(f"chats/{chat_id}/stop"), headers=live.headers())
                stop_status.append(response.status_code)
                assert response.json()["stopping"] is True
        return False

    deltas: list[dict[str, Any]] = []
    with (
        httpx.Client(timeout=20) as client,
        client.stream(
            "POST",
            live.ws_url(f"chats/{chat_id}/messages"),
            json=payload,
            headers=live.headers(**V6),
        ) as response,
    ):
        result = read_sse(response, until=stop_after_three)
    ended = time.monotonic()
    assert stop_status == [202]
    assert result.types()[-2:] == ["text-end", "abort"]
    assert result.chunks[-1] == {"type": "abort"}
    assert result.done
    assert ended - stopped_at[0] < 1.0, ended - stopped_at[0]
    assert llm.wait_for_disconnect(timeout=2)  # the worker hung up on the provider
    count = len(result.text().split())
    assert 3 <= count < 200

    reply = stored_messages(live, chat_id)[-1]
    assert reply.role == "assistant"
    assert reply.finish_reason == "abort"
    assert parts_of(live, reply)[-1]["text"] == result.text()
    # Nothing runs any more.
    response = httpx.post(live.ws_url(f"chats/{chat_id}/stop"), headers=live.headers())
    assert response.status_code == 204


def test_one_reply_at_a_time_per_chat(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(slow(40))
    chat_id = uuid.uuid4()
    open_and_leave(live, chat_id, user_message("first"), chunks=3)
    second = send(live, chat_id, [user_message("second")])
    assert second.status == 409
    assert '"code": "reply_in_progress"' in second.body or '"reply_in_progress"' in second.body
    httpx.post(live.ws_url(f"chats/{chat_id}/stop"), headers=live.headers())
    wait_for(lambda: not (chat_row(live, chat_id) or Chat()).active_stream_id)
    llm.enqueue(text("ok", path="/messages"))
    assert send(live, chat_id, [user_message("third")]).done


def test_at_most_three_replies_at_once_per_member(live: Live, llm: FakeLLMServer) -> None:
    chats = [uuid.uuid4() for _ in range(3)]
    llm.enqueue(*(slow(100) for _ in chats))
    for chat_id in chats:
        open_and_leave(live, chat_id, user_message("go"), chunks=1)
    fourth = send(live, uuid.uuid4(), [user_message("one more")])
    assert fourth.status == 429
    assert fourth.headers["retry-after"] == "5"
    for chat_id in chats:
        httpx.post(live.ws_url(f"chats/{chat_id}/stop"), headers=live.headers())


def test_heartbeats_while_the_provider_is_silent(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(text("late", headers_delay=2.5, path="/messages"))
    result = send(live, uuid.uuid4(), [user_message("wait")])
    assert result.pings >= 1
    assert ": ping" in result.raw
    assert result.text() == "late"


def test_regenerate_replaces_the_last_reply(live: Live, llm: FakeLLMServer) -> None:
    llm.enqueue(text("first try", path="/messages"), text("second try", path="/messages"))
    chat_id = uuid.uuid4()
    question = user_message("q")
    first = send(live, chat_id, [question])
    old_id = first.chunks[0]["messageId"]
    second = send(live, chat_id, [question], trigger="regenerate-message", messageId=old_id)
    assert second.chunks[0]["messageId"] != old_id
    assert second.text() == "second try"
    live_rows = stored_messages(live, chat_id)
    assert [m.role for m in live_rows] == ["user", "assistant"]
    assert str(live_rows[1].id) == second.chunks[0]["messageId"]
    with db_context(workspace_id=live.workspace.pk, user_id=live.owner.pk):
        old = ChatMessage.objects.get(id=old_id)
    assert old.deleted
    assert old.parts_encrypted is None


def test_plan_quota_is_checked_before_anything_is_enqueued(live: Live, llm: FakeLLMServer) -> None:
    from ai.services.usage import usage_record

    with db_context(workspace_id=live.workspace.pk, user_id=live.owner.pk):
        usage_record(workspace_id=live.workspace.pk, user_id=live.owner.pk, model="m", requests=100)
    chat_id = uuid.uuid4()
    result = send(live, chat_id, [user_message("one more")])
    assert result.status == 402
    body = httpx.Response(402, content=result.body).json()
    assert body["error"]["code"] == "plan_limit"
    assert body["error"]["limit"] == "ai_requests_per_month"
    assert "plan allows 100 AI requests this month" in body["error"]["message"]
    assert chat_row(live, chat_id) is None  # nothing stored
    assert llm.requests == []
