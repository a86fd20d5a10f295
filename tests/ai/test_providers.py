"""The provider layer against the real SDKs talking to the fake LLM server (tests/fakes).

Each provider kind streams text, tool calls, reasoning, usage and finish reasons; the fallback
chain retries and moves on by the documented rules; errors reach users as fixed sentences that
never carry a key; a stop request ends a stream within a second and closes the HTTP connection.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from ai.providers import (
    AnthropicProvider,
    ChatRequest,
    FallbackChain,
    Finish,
    Message,
    OpenAIChatProvider,
    OpenAIResponsesProvider,
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderResult,
    ReasoningDelta,
    ReasoningPart,
    ReasoningSignature,
    RetryPolicy,
    StreamError,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
    ToolSpec,
    Usage,
    get_provider_chain,
)
from ai.providers import stream_chat as chain_stream_chat
from tests.fakes.llm_server import (
    FakeLLMServer,
    ScriptedToolCall,
    bad_key,
    context_too_long,
    disconnect,
    error,
    forbidden,
    hang,
    overloaded,
    rate_limited,
    server_error,
    stream_error,
    text,
    tool_call,
)

KINDS = ("anthropic", "openai", "openai_chat", "compatible")
KEYS = {
    "anthropic": "sk-ant-secret-0123456789",
    "openai": "sk-openai-secret-0123456789",
    "openai_chat": "sk-openai-secret-0123456789",
    "compatible": "local-secret-0123456789",
}
PATHS = {
    "anthropic": "/v1/messages",
    "openai": "/v1/responses",
    "openai_chat": "/v1/chat/completions",
    "compatible": "/v1/chat/completions",
}
SQL_TOOL = ToolSpec(
    "run_sql",
    "Run a read-only SQL query",
    {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]},
)


def make_provider(
    kind: str,
    fake: FakeLLMServer,
    *,
    timeout: float = 5.0,
    http_client: httpx2.Client | None = None,
) -> Provider:
    models = {"chat": f"{kind}-chat-model", "sql": f"{kind}-sql-model"}
    if kind == "anthropic":
        return AnthropicProvider(
            api_key=KEYS[kind],
            base_url=fake.url,
            models=models,
            timeout=timeout,
            http_client=http_client,
        )
    if kind == "openai":
        return OpenAIResponsesProvider(
            api_key=KEYS[kind],
            base_url=fake.openai_url,
            models=models,
            timeout=timeout,
            http_client=http_client,
        )
    return OpenAIChatProvider(
        api_key=KEYS[kind],
        base_url=fake.openai_url,
        models=models,
        timeout=timeout,
        http_client=http_client,
        name=kind,
        compatible=kind == "compatible",
    )


def chain(
    fake: FakeLLMServer,
    *kinds: str,
    max_retries: int = 0,
    timeout: float = 5.0,
    sleeps: list[float] | None = None,
) -> FallbackChain:
    def sleep(seconds: float, cancel: Any) -> bool:
        if sleeps is not None:
            sleeps.append(seconds)
        return False

    return FallbackChain(
        [make_provider(kind, fake, timeout=timeout) for kind in kinds],
        retry=RetryPolicy(max_retries=max_retries, backoff_base=0.01, backoff_cap=0.05),
        sleep=sleep,
    )


def ask(text_value: str = "How many users signed up today?", **kwargs: Any) -> ChatRequest:
    return ChatRequest(
        messages=[Message.user(text_value)],
        system="You write PostgreSQL.",
        **kwargs,
    )


def collect(events: Iterable[ProviderEvent]) -> list[ProviderEvent]:
    return list(events)


def text_of(events: Iterable[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def of_type(events: Iterable[ProviderEvent], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def collect_until_error(events: Iterator[ProviderEvent]) -> tuple[list[ProviderEvent], Any]:
    seen: list[ProviderEvent] = []
    try:
        for event in events:
            seen.append(event)
    except ProviderError as exc:
        return seen, exc
    return seen, None


# ---------------------------------------------------------------------------------------------
# Streaming per provider kind
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_streams_text_with_usage_and_finish(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("SELECT count(*) FROM users;", usage=(123, 45)))
    provider = make_provider(kind, fake_llm)

    events = collect(provider.stream_chat(ask()))

    deltas = of_type(events, TextDelta)
    assert len(deltas) == 4  # streamed word by word, not in one piece
    assert text_of(events) == "SELECT count(*) FROM users;"
    assert events[-2:] == [
        Usage(123, 45, provider=kind, model=f"{kind}-chat-model"),
        Finish("stop", provider=kind, model=f"{kind}-chat-model"),
    ]
    [request] = fake_llm.requests
    assert request.path == PATHS[kind]
    assert request.body["model"] == f"{kind}-chat-model"
    assert request.body["stream"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_streams_a_tool_call(kind: str, fake_llm: FakeLLMServer) -> None:
    arguments = {"sql": "SELECT id FROM users WHERE created_at > now() - interval '1 day'"}
    fake_llm.enqueue(tool_call("run_sql", arguments, text_before="Let me check.", id="tc_1"))
    provider = make_provider(kind, fake_llm)

    events = collect(provider.stream_chat(ask(tools=[SQL_TOOL])))

    assert text_of(events) == "Let me check."
    [start] = of_type(events, ToolCallStart)
    assert start == ToolCallStart("tc_1", "run_sql")
    fragments = of_type(events, ToolCallDelta)
    assert len(fragments) > 1
    assert {f.id for f in fragments} == {"tc_1"}
    assert "".join(f.json_fragment for f in fragments).replace(" ", "") == (
        '{"sql":"SELECTidFROMusersWHEREcreated_at>now()-interval\'1day\'"}'
    )
    [end] = of_type(events, ToolCallEnd)
    assert end == ToolCallEnd("tc_1", "run_sql", arguments)
    kinds_in_order = [type(e) for e in events if not isinstance(e, TextDelta | ToolCallDelta)]
    assert kinds_in_order == [ToolCallStart, ToolCallEnd, Usage, Finish]
    assert events[-1].reason == "tool-calls"  # type: ignore[union-attr]
    [request] = fake_llm.requests
    tools = request.body["tools"]
    assert len(tools) == 1
    assert "run_sql" in str(tools[0])


@pytest.mark.parametrize("kind", KINDS)
def test_streams_two_tool_calls_in_order(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(
        tool_call("run_sql", {"sql": "SELECT 1"}, more=[ScriptedToolCall("explain", {"q": 2})])
    )
    events = collect(make_provider(kind, fake_llm).stream_chat(ask(tools=[SQL_TOOL])))

    ends = of_type(events, ToolCallEnd)
    assert [(e.name, e.input) for e in ends] == [
        ("run_sql", {"sql": "SELECT 1"}),
        ("explain", {"q": 2}),
    ]
    assert len({e.id for e in ends}) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_streams_reasoning(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("Done.", reasoning="The user wants a count."))
    events = collect(make_provider(kind, fake_llm).stream_chat(ask(thinking_budget_tokens=2000)))

    reasoning = "".join(e.text for e in of_type(events, ReasoningDelta))
    assert reasoning == "The user wants a count."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    last_reasoning = max(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    assert last_reasoning < first_text
    if kind == "anthropic":
        assert of_type(events, ReasoningSignature) == [ReasoningSignature("sig_fake")]
        body = fake_llm.requests[0].body
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2000}
        assert body["max_tokens"] == 4096 + 2000
        assert "temperature" not in body
    if kind == "openai":
        assert fake_llm.requests[0].body["reasoning"] == {"summary": "auto"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("scripted", "expected"), [("length", "length"), ("content_filter", "content-filter")]
)
def test_maps_finish_reasons(
    kind: str, scripted: Any, expected: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue(text("cut sho", finish=scripted))
    events = collect(make_provider(kind, fake_llm).stream_chat(ask()))
    assert events[-1] == Finish(expected, provider=kind, model=f"{kind}-chat-model")  # type: ignore[arg-type]


def test_chat_completions_asks_for_usage_and_uses_the_right_token_limit(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.enqueue(text("a"), text("b"))
    collect(make_provider("openai_chat", fake_llm).stream_chat(ask(max_output_tokens=321)))
    collect(make_provider("compatible", fake_llm).stream_chat(ask(max_output_tokens=321)))

    openai_body, compatible_body = (r.body for r in fake_llm.requests)
    assert openai_body["stream_options"] == {"include_usage": True}
    assert openai_body["max_completion_tokens"] == 321  # reasoning models reject max_tokens
    assert compatible_body["stream_options"] == {"include_usage": True}
    assert compatible_body["max_tokens"] == 321  # older local servers only know this one
    assert openai_body["messages"][0] == {"role": "system", "content": "You write PostgreSQL."}


def test_sends_keys_and_never_the_openai_key_to_a_compatible_server(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.enqueue(text("a"), text("b"), text("c"))
    collect(make_provider("anthropic", fake_llm).stream_chat(ask()))
    collect(make_provider("openai", fake_llm).stream_chat(ask()))
    keyless = OpenAIChatProvider(
        api_key=None,
        base_url=fake_llm.openai_url,
        models={"chat": "m"},
        name="compatible",
        compatible=True,
    )
    collect(keyless.stream_chat(ask()))

    anthropic_request, openai_request, compatible_request = fake_llm.requests
    # this SDK sends the Anthropic key as a bearer token
    assert anthropic_request.headers["authorization"] == f"Bearer {KEYS['anthropic']}"
    assert openai_request.headers["authorization"] == f"Bearer {KEYS['openai']}"
    assert "sk-" not in compatible_request.headers.get("authorization", "")


# ---------------------------------------------------------------------------------------------
# Message translation
# ---------------------------------------------------------------------------------------------
HISTORY = [
    Message.user("Count users"),
    Message(
        "assistant",
        (
            ReasoningPart("I should query.", signature="sig_1"),
            TextPart("Running a query."),
            ToolCallPart("call_1", "run_sql", {"sql": "SELECT count(*) FROM users"}),
        ),
    ),
    Message.tool_results([ToolResultPart("call_1", "run_sql", '[{"count": 42}]')]),
    Message.user("And yesterday?"),
]


def test_anthropic_request_shape(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("ok"))
    collect(
        make_provider("anthropic", fake_llm).stream_chat(
            ChatRequest(messages=HISTORY, system="sys", tools=[SQL_TOOL], temperature=0.2)
        )
    )
    body = fake_llm.requests[0].body
    assert body["system"] == "sys"
    assert "temperature" not in body  # the SDK's Messages API no longer has it
    assert body["tools"] == [
        {
            "name": "run_sql",
            "description": "Run a read-only SQL query",
            "input_schema": SQL_TOOL.input_schema,
        }
    ]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Count users"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should query.", "signature": "sig_1"},
                {"type": "text", "text": "Running a query."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "run_sql",
                    "input": {"sql": "SELECT count(*) FROM users"},
                },
            ],
        },
        # the tool result and the next question merge into one user turn
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": '[{"count": 42}]'},
                {"type": "text", "text": "And yesterday?"},
            ],
        },
    ]


def test_chat_completions_request_shape(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("ok"))
    collect(
        make_provider("openai_chat", fake_llm).stream_chat(
            ChatRequest(messages=HISTORY, system="sys", tools=[SQL_TOOL])
        )
    )
    body = fake_llm.requests[0].body
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "run_sql",
                "description": "Run a read-only SQL query",
                "parameters": SQL_TOOL.input_schema,
            },
        }
    ]
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "Count users"},
        {
            "role": "assistant",
            "content": "Running a query.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "run_sql",
                        "arguments": '{"sql": "SELECT count(*) FROM users"}',
                    },
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '[{"count": 42}]'},
        {"role": "user", "content": "And yesterday?"},
    ]
    assert "temperature" not in body


def test_responses_request_shape(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("ok"))
    collect(
        make_provider("openai", fake_llm).stream_chat(
            ChatRequest(messages=HISTORY, system="sys", tools=[SQL_TOOL])
        )
    )
    body = fake_llm.requests[0].body
    assert body["instructions"] == "sys"
    assert body["store"] is False
    assert body["tools"] == [
        {
            "type": "function",
            "name": "run_sql",
            "description": "Run a read-only SQL query",
            "parameters": SQL_TOOL.input_schema,
            "strict": False,
        }
    ]
    assert body["input"] == [
        {"role": "user", "content": "Count users"},
        {"role": "assistant", "content": "Running a query."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "run_sql",
            "arguments": '{"sql": "SELECT count(*) FROM users"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": '[{"count": 42}]'},
        {"role": "user", "content": "And yesterday?"},
    ]


def test_the_task_picks_the_model(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("a"), text("b"))
    provider = make_provider("anthropic", fake_llm)
    collect(provider.stream_chat(ask(task="sql")))
    collect(provider.stream_chat(ask(model="pinned-model")))
    assert [r.body["model"] for r in fake_llm.requests] == ["anthropic-sql-model", "pinned-model"]


# ---------------------------------------------------------------------------------------------
# One-shot calls
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_complete_returns_text_usage_and_json(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text(['```json\n{"title": ', '"Daily signups"}\n```'], usage=(50, 9)))
    result = make_provider(kind, fake_llm).complete(ask(json_output=True))

    assert isinstance(result, ProviderResult)
    assert result.json() == {"title": "Daily signups"}
    assert result.usage == Usage(50, 9, provider=kind, model=f"{kind}-chat-model")
    assert result.finish_reason == "stop"
    body = fake_llm.requests[0].body
    assert not body.get("stream")
    if kind in ("openai_chat", "compatible"):
        assert body["response_format"] == {"type": "json_object"}
    if kind == "openai":
        assert body["text"] == {"format": {"type": "json_object"}}


@pytest.mark.parametrize("kind", KINDS)
def test_complete_returns_tool_calls(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(tool_call("run_sql", {"sql": "SELECT 1"}, id="t1"))
    result = make_provider(kind, fake_llm).complete(ask(tools=[SQL_TOOL]))
    assert [(c.id, c.name, c.input) for c in result.tool_calls] == [
        ("t1", "run_sql", {"sql": "SELECT 1"})
    ]
    assert result.finish_reason == "tool-calls"


def test_result_json_that_is_not_json_is_a_bad_response() -> None:
    result = ProviderResult(text="Sure! Here it is:", finish_reason="stop", provider="p", model="m")
    with pytest.raises(ProviderError) as caught:
        result.json()
    assert caught.value.code == "bad_response"


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_tool_input_is_a_bad_response(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(tool_call("run_sql", '{"sql": "SELECT'))
    seen, caught = collect_until_error(make_provider(kind, fake_llm).stream_chat(ask()))
    assert of_type(seen, ToolCallStart)
    assert caught is not None
    assert caught.code == "bad_response"


# ---------------------------------------------------------------------------------------------
# Error mapping
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("reply", "code", "retryable"),
    [
        (overloaded(), "overloaded", True),
        (rate_limited(), "rate_limited", True),
        (server_error(500), "unavailable", True),
        (server_error(502), "unavailable", True),
        (context_too_long(), "context_too_long", False),
        (bad_key(), "bad_key", False),
        (forbidden(), "bad_key", False),
        (error("not_found"), "model_not_found", False),
        (error("billing"), "quota_exhausted", False),
        (error("bad_request"), "invalid_request", False),
    ],
)
def test_maps_http_errors(
    kind: str, reply: Any, code: str, retryable: bool, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue(reply)
    with pytest.raises(ProviderError) as caught:
        collect(make_provider(kind, fake_llm).stream_chat(ask()))
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.provider == kind


@pytest.mark.parametrize("kind", KINDS)
def test_context_too_long_message(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(context_too_long())
    with pytest.raises(ProviderError) as caught:
        make_provider(kind, fake_llm).complete(ask())
    assert str(caught.value) == (
        "The conversation is too long for the model. Start a new chat or shorten the schema."
    )
    assert caught.value.status_code == 400
    assert caught.value.falls_back is False


@pytest.mark.parametrize("kind", KINDS)
def test_bad_key_message_never_carries_the_key(
    kind: str, fake_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_llm.enqueue(bad_key())
    with pytest.raises(ProviderError) as caught:
        collect(chain(fake_llm, kind).stream_chat(ask()))
    exc = caught.value
    assert exc.code == "bad_key"
    assert str(exc) == (
        "The AI provider rejected the service's API key. An administrator has been notified."
    )
    # the SDK's error (whose message quotes the key) is neither the cause nor shown as context
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    secret = KEYS[kind]
    for rendered in (str(exc), repr(exc), exc.detail, exc.message, str(exc.extra)):
        assert secret not in rendered
        assert secret[:12] not in rendered
    assert secret not in caplog.text
    assert "sk-" not in " ".join(r.getMessage() for r in caplog.records if r.name.startswith("ai"))
    # ...and an administrator hears of it
    assert any(r.levelno == logging.ERROR and r.name == "ai.providers" for r in caplog.records)


def test_provider_error_survives_pickling() -> None:
    original = ProviderError(
        "rate_limited", provider="openai", status=429, retry_after=3.0, detail="openai: HTTP 429"
    )
    copy = pickle.loads(pickle.dumps(original))  # noqa: S301 - our own bytes
    assert (
        copy.code,
        str(copy),
        copy.retryable,
        copy.provider,
        copy.provider_status,
        copy.retry_after,
        copy.detail,
        copy.status_code,
    ) == ("rate_limited", original.user_message, True, "openai", 429, 3.0, "openai: HTTP 429", 503)


def test_retry_after_is_read_from_the_response(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(rate_limited(retry_after=7))
    with pytest.raises(ProviderError) as caught:
        collect(make_provider("anthropic", fake_llm).stream_chat(ask()))
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("kind", KINDS)
def test_timeout(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(hang(5))
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        collect(make_provider(kind, fake_llm, timeout=0.4).stream_chat(ask()))
    assert caught.value.code == "timeout"
    assert str(caught.value) == "The AI provider took too long to answer. Please try again."
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("kind", KINDS)
def test_silence_mid_stream_is_a_timeout(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(hang(5, after_headers=True))
    with pytest.raises(ProviderError) as caught:
        collect(make_provider(kind, fake_llm, timeout=0.4).stream_chat(ask()))
    assert caught.value.code == "timeout"


@pytest.mark.parametrize("kind", KINDS)
def test_mid_stream_disconnect(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(disconnect(after_tokens=2))
    seen, caught = collect_until_error(make_provider(kind, fake_llm).stream_chat(ask()))
    assert text_of(seen) == "one two"
    assert caught is not None
    assert caught.code == "unavailable"


@pytest.mark.parametrize("kind", KINDS)
def test_error_event_in_the_stream(kind: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(stream_error("overloaded", after_tokens=1))
    seen, caught = collect_until_error(make_provider(kind, fake_llm).stream_chat(ask()))
    assert text_of(seen) == "one"
    assert caught is not None
    assert caught.code in ("overloaded", "unavailable")
    assert caught.retryable


# ---------------------------------------------------------------------------------------------
# Fallback chain
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "failure",
    [
        overloaded(),
        rate_limited(),
        server_error(500),
        server_error(503),
        hang(5),
        stream_error("overloaded", after_tokens=0),
        disconnect(after_tokens=0),
    ],
    ids=[
        "529",
        "429",
        "500",
        "503",
        "timeout",
        "error-event-before-output",
        "disconnect-before-output",
    ],
)
def test_falls_back_to_the_next_provider(failure: Any, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(failure, text("From OpenAI."))
    events = collect(chain(fake_llm, "anthropic", "openai", timeout=0.5).stream_chat(ask()))

    assert text_of(events) == "From OpenAI."
    assert events[-1] == Finish("stop", provider="openai", model="openai-chat-model")
    assert fake_llm.paths == ["/v1/messages", "/v1/responses"]


def test_falls_back_through_every_provider_kind(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(overloaded(), server_error(), rate_limited(), text("local"))
    events = collect(
        chain(fake_llm, "anthropic", "openai", "openai_chat", "compatible").stream_chat(ask())
    )
    assert text_of(events) == "local"
    assert fake_llm.paths == [
        "/v1/messages",
        "/v1/responses",
        "/v1/chat/completions",
        "/v1/chat/completions",
    ]


def test_retries_with_backoff_before_falling_back(fake_llm: FakeLLMServer) -> None:
    sleeps: list[float] = []
    fake_llm.enqueue(overloaded(), overloaded(), overloaded(), text("second provider"))
    events = collect(
        chain(fake_llm, "anthropic", "openai", max_retries=2, sleeps=sleeps).stream_chat(ask())
    )
    assert text_of(events) == "second provider"
    assert fake_llm.paths == ["/v1/messages"] * 3 + ["/v1/responses"]
    assert len(sleeps) == 2
    # exponential with jitter: attempt n waits between half and all of base * 2**n (capped)
    assert 0.005 <= sleeps[0] <= 0.01
    assert 0.01 <= sleeps[1] <= 0.02


def test_a_retry_can_succeed_on_the_same_provider(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(rate_limited(), text("second try"))
    events = collect(chain(fake_llm, "anthropic", "openai", max_retries=2).stream_chat(ask()))
    assert text_of(events) == "second try"
    assert fake_llm.paths == ["/v1/messages", "/v1/messages"]


def test_retry_after_is_honoured(fake_llm: FakeLLMServer) -> None:
    sleeps: list[float] = []
    fake_llm.enqueue(rate_limited(retry_after=0.3), text("ok"))
    collect(chain(fake_llm, "anthropic", max_retries=2, sleeps=sleeps).stream_chat(ask()))
    assert len(sleeps) == 1
    assert 0.3 <= sleeps[0] < 0.31


def test_a_long_retry_after_moves_on_at_once(fake_llm: FakeLLMServer) -> None:
    sleeps: list[float] = []
    fake_llm.enqueue(rate_limited(retry_after=3600), text("other provider"))
    events = collect(
        chain(fake_llm, "anthropic", "openai", max_retries=2, sleeps=sleeps).stream_chat(ask())
    )
    assert text_of(events) == "other provider"
    assert sleeps == []


def test_a_timeout_moves_on_without_retrying(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(hang(5), text("fast one"))
    events = collect(
        chain(fake_llm, "anthropic", "openai", max_retries=2, timeout=0.3).stream_chat(ask())
    )
    assert text_of(events) == "fast one"
    assert fake_llm.paths == ["/v1/messages", "/v1/responses"]


def test_the_last_provider_retries_a_timeout(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(hang(5), text("eventually"))
    events = collect(chain(fake_llm, "openai", max_retries=1, timeout=0.3).stream_chat(ask()))
    assert text_of(events) == "eventually"


@pytest.mark.parametrize(
    "failure",
    [stream_error("overloaded", after_tokens=2), disconnect(after_tokens=2)],
    ids=["error-event", "disconnect"],
)
def test_no_fallback_once_output_began(failure: Any, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(failure, text("must not be used"))
    events = collect(chain(fake_llm, "anthropic", "openai", max_retries=2).stream_chat(ask()))

    assert text_of(events) == "one two"  # nothing duplicated, nothing from the next provider
    assert isinstance(events[-2], StreamError)
    assert events[-2].error.code in ("overloaded", "unavailable")
    assert events[-1] == Finish("error", provider="anthropic", model="anthropic-chat-model")
    assert fake_llm.paths == ["/v1/messages"]


def test_no_fallback_after_a_tool_call_started(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(tool_call("run_sql", "{not json"), text("must not be used"))
    events = collect(chain(fake_llm, "openai_chat", "anthropic").stream_chat(ask()))
    assert isinstance(events[-2], StreamError)
    assert events[-2].error.code == "bad_response"
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize("failure", [context_too_long(), error("bad_request")])
def test_request_errors_do_not_fall_back(failure: Any, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(failure, text("must not be used"))
    with pytest.raises(ProviderError) as caught:
        collect(chain(fake_llm, "anthropic", "openai", max_retries=2).stream_chat(ask()))
    assert caught.value.code in ("context_too_long", "invalid_request")
    assert fake_llm.paths == ["/v1/messages"]  # not retried, not passed on


@pytest.mark.parametrize("failure", [bad_key(), forbidden(), error("billing"), error("not_found")])
def test_a_misconfigured_provider_falls_back(failure: Any, fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(failure, text("backup"))
    events = collect(chain(fake_llm, "anthropic", "openai", max_retries=2).stream_chat(ask()))
    assert text_of(events) == "backup"
    assert fake_llm.paths == ["/v1/messages", "/v1/responses"]  # not retried


def test_when_every_provider_fails_the_last_error_is_raised(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(overloaded(), bad_key())
    with pytest.raises(ProviderError) as caught:
        collect(chain(fake_llm, "anthropic", "openai").stream_chat(ask()))
    assert caught.value.code == "bad_key"
    assert caught.value.provider == "openai"


def test_complete_falls_back_too(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(overloaded(), text('{"ok": true}'))
    result = chain(fake_llm, "anthropic", "openai_chat").complete(ask())
    assert result.json() == {"ok": True}
    assert result.provider == "openai_chat"


def test_complete_does_not_fall_back_on_context_too_long(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(context_too_long(), text("no"))
    with pytest.raises(ProviderError) as caught:
        chain(fake_llm, "anthropic", "openai_chat").complete(ask())
    assert caught.value.code == "context_too_long"
    assert len(fake_llm.requests) == 1


def test_a_provider_without_a_model_for_the_task_is_skipped(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(text("from openai"))
    anthropic_chat_only = AnthropicProvider(
        api_key="k", base_url=fake_llm.url, models={"chat": "claude"}
    )
    openai_both = make_provider("openai", fake_llm)
    events = collect(FallbackChain([anthropic_chat_only, openai_both]).stream_chat(ask(task="sql")))
    assert events[-1].provider == "openai"  # type: ignore[union-attr]
    assert fake_llm.paths == ["/v1/responses"]


def test_nothing_configured() -> None:
    with pytest.raises(ProviderError) as caught:
        collect(FallbackChain([]).stream_chat(ask()))
    assert caught.value.code == "not_configured"
    assert str(caught.value) == "The AI assistant is not configured on this server."
    with pytest.raises(ProviderError):
        FallbackChain([]).complete(ask())


# ---------------------------------------------------------------------------------------------
# From settings
# ---------------------------------------------------------------------------------------------
def test_chain_from_settings_follows_the_order_and_skips_unconfigured(
    fake_llm: FakeLLMServer,
) -> None:
    config = fake_llm.settings(order=("compatible", "openai_chat", "anthropic", "openai"))
    config.update(OPENAI_API_KEY=None)  # no OpenAI: both OpenAI kinds are skipped
    fake_llm.enqueue(server_error(), text("claude"))
    with override_settings(**config):
        providers = get_provider_chain().providers
        assert [p.name for p in providers] == ["compatible", "anthropic"]
        events = collect(chain_stream_chat(ask()))
    assert text_of(events) == "claude"
    assert fake_llm.paths == ["/v1/chat/completions", "/v1/messages"]
    assert fake_llm.requests[1].headers["authorization"] == "Bearer sk-ant-test-fake"


def test_chain_from_settings_reads_models_per_task(fake_llm: FakeLLMServer) -> None:
    config = fake_llm.settings(order=("openai_chat",))
    config.update(AI_MODEL_CHAT={"openai": "gpt-chat"}, AI_MODEL_SQL={"openai_chat": "gpt-sql"})
    fake_llm.enqueue(text("a"), text("b"))
    with override_settings(**config):
        collect(chain_stream_chat(ask()))
        collect(chain_stream_chat(ask(task="sql")))
    # openai_chat falls back to the "openai" entry: same account, same model names
    assert [r.body["model"] for r in fake_llm.requests] == ["gpt-chat", "gpt-sql"]


def test_chain_from_settings_with_nothing_configured() -> None:
    with (
        override_settings(ANTHROPIC_API_KEY=None, OPENAI_API_KEY=None, AI_COMPATIBLE_BASE_URL=None),
        pytest.raises(ProviderError) as caught,
    ):
        collect(chain_stream_chat(ask()))
    assert caught.value.code == "not_configured"


def test_model_settings_are_parsed_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings.ai import _ai_models

    monkeypatch.setenv("AI_MODEL_TEST", "anthropic:claude-x, compatible:llama3.1:8b")
    assert _ai_models("AI_MODEL_TEST", "") == {"anthropic": "claude-x", "compatible": "llama3.1:8b"}
    assert _ai_models("AI_MODEL_UNSET", "openai:gpt-5-mini") == {"openai": "gpt-5-mini"}
    for bad in ("claude-x", "mistral:large", "anthropic:"):
        monkeypatch.setenv("AI_MODEL_TEST", bad)
        with pytest.raises(ImproperlyConfigured, match="AI_MODEL_TEST"):
            _ai_models("AI_MODEL_TEST", "")


# ---------------------------------------------------------------------------------------------
# Cancel
# ---------------------------------------------------------------------------------------------
LONG_ANSWER = " ".join(f"word{i}" for i in range(300))


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_mid_stream_stops_within_a_second_and_closes_the_stream(
    kind: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.token_delay = 0.05  # the whole answer would take 15 s
    fake_llm.enqueue(text(LONG_ANSWER))
    cancel = threading.Event()
    received = 0
    cancelled_at = 0.0
    for event in make_provider(kind, fake_llm).stream_chat(ask(cancel=cancel)):
        if isinstance(event, TextDelta):
            received += 1
        if received == 3 and not cancel.is_set():
            cancel.set()
            cancelled_at = time.monotonic()
    assert time.monotonic() - cancelled_at < 1.0
    assert received < 10
    assert fake_llm.wait_for_disconnect(timeout=2.0)  # the server saw the client hang up
    assert fake_llm.disconnects[0].events_sent < 20


def test_cancel_while_the_provider_is_silent(fake_llm: FakeLLMServer) -> None:
    """A provider thinking before its first chunk must not delay a stop request."""
    fake_llm.enqueue(hang(30, after_headers=True))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    events = collect(
        make_provider("anthropic", fake_llm, timeout=30).stream_chat(ask(cancel=cancel))
    )
    assert time.monotonic() - started < 1.3
    assert events == []  # a cancelled stream simply ends
    assert fake_llm.wait_for_disconnect(timeout=2.0)


def test_cancel_before_the_response_started(fake_llm: FakeLLMServer) -> None:
    """The caller is released at once; the connection is dropped as soon as it can be."""
    fake_llm.enqueue(text(LONG_ANSWER, headers_delay=1.0))
    fake_llm.token_delay = 0.05
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    events = collect(make_provider("openai", fake_llm).stream_chat(ask(cancel=cancel)))
    assert time.monotonic() - started < 0.8
    assert events == []
    assert fake_llm.wait_for_disconnect(timeout=3.0)
    assert fake_llm.disconnects[0].events_sent < 10


def test_cancel_with_a_callable(fake_llm: FakeLLMServer) -> None:
    fake_llm.token_delay = 0.05
    fake_llm.enqueue(text(LONG_ANSWER))
    deadline = time.monotonic() + 0.4
    events = collect(
        make_provider("openai_chat", fake_llm).stream_chat(
            ask(cancel=lambda: time.monotonic() > deadline)
        )
    )
    assert 0 < len(events) < 20
    assert fake_llm.wait_for_disconnect(timeout=2.0)


def test_dropping_the_iterator_closes_the_stream(fake_llm: FakeLLMServer) -> None:
    fake_llm.token_delay = 0.05
    fake_llm.enqueue(text(LONG_ANSWER))
    events = make_provider("anthropic", fake_llm).stream_chat(ask())
    assert isinstance(next(iter(events)), TextDelta)
    events.close()  # type: ignore[attr-defined]
    assert fake_llm.wait_for_disconnect(timeout=2.0)


def test_cancel_through_the_chain(fake_llm: FakeLLMServer) -> None:
    fake_llm.token_delay = 0.05
    fake_llm.enqueue(text(LONG_ANSWER))
    cancel = threading.Event()
    stream = chain(fake_llm, "anthropic", "openai").stream_chat(ask(cancel=cancel))
    first = next(stream)
    cancel.set()
    started = time.monotonic()
    rest = list(stream)
    assert isinstance(first, TextDelta)
    assert time.monotonic() - started < 1.0
    assert not any(isinstance(e, Finish | StreamError) for e in rest)
    assert fake_llm.wait_for_disconnect(timeout=2.0)
    assert fake_llm.paths == ["/v1/messages"]


def test_cancel_during_backoff(fake_llm: FakeLLMServer) -> None:
    fake_llm.enqueue(overloaded())
    cancel = threading.Event()
    slow = FallbackChain(
        [make_provider("anthropic", fake_llm)],
        retry=RetryPolicy(max_retries=3, backoff_base=10, backoff_cap=10),
    )
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    assert collect(slow.stream_chat(ask(cancel=cancel))) == []
    assert time.monotonic() - started < 1.5


# ---------------------------------------------------------------------------------------------
# httpx2.MockTransport: no server at all
# ---------------------------------------------------------------------------------------------
def mock_client(handler: Callable[[httpx2.Request], httpx2.Response]) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_mock_transport_anthropic_stream() -> None:
    body = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message",'
        b'"role":"assistant","model":"c","content":[],"stop_reason":null,"usage":'
        b'{"input_tokens":3,"output_tokens":1}}}\n\n'
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"hi"}}\n\n'
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":2}}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    provider = AnthropicProvider(
        api_key="k",
        base_url="https://anthropic.example",
        models={"chat": "c"},
        http_client=mock_client(handler),
    )
    events = collect(provider.stream_chat(ask()))
    assert events == [
        TextDelta("hi"),
        Usage(3, 2, provider="anthropic", model="c"),
        Finish("stop", provider="anthropic", model="c"),
    ]
    assert str(seen[0].url) == "https://anthropic.example/v1/messages"


def test_mock_transport_connection_error_falls_back() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "fine"},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    down = OpenAIChatProvider(
        api_key="k",
        base_url="https://down.example/v1",
        models={"chat": "m"},
        http_client=mock_client(refuse),
    )
    up = OpenAIChatProvider(
        api_key="k",
        base_url="https://up.example/v1",
        models={"chat": "m"},
        http_client=mock_client(answer),
        name="compatible",
        compatible=True,
    )
    with pytest.raises(ProviderError) as caught:
        down.complete(ask())
    assert caught.value.code == "unavailable"
    result = FallbackChain([down, up], retry=RetryPolicy(max_retries=0)).complete(ask())
    assert (result.text, result.provider) == ("fine", "compatible")


def test_mock_transport_retry_after_ms() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            429,
            headers={"retry-after-ms": "1500"},
            json={
                "error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}
            },
        )

    provider = OpenAIResponsesProvider(
        api_key="k",
        base_url="https://o.example/v1",
        models={"chat": "m"},
        http_client=mock_client(handler),
    )
    with pytest.raises(ProviderError) as caught:
        provider.complete(ask())
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == 1.5


def test_event_type_names() -> None:
    assert [
        cls.type
        for cls in (
            TextDelta,
            ReasoningDelta,
            ToolCallStart,
            ToolCallDelta,
            ToolCallEnd,
            Usage,
            Finish,
            StreamError,
        )
    ] == [
        "text_delta",
        "reasoning_delta",
        "tool_call_start",
        "tool_call_delta",
        "tool_call_end",
        "usage",
        "finish",
        "error",
    ]
