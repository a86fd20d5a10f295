"""The UI message stream protocol (ai/protocol.py) and the conversation handed to the model
(ai/conversation.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ai import conversation, protocol
from ai.providers import ReasoningPart, TextPart, ToolCallPart, ToolResultPart

# What ai@6.0.0 accepts per chunk type (it refuses any other key): emit nothing beyond it.
STRICT_KEYS = {
    "start": {"type", "messageId", "messageMetadata"},
    "start-step": {"type"},
    "finish-step": {"type"},
    "text-start": {"type", "id", "providerMetadata"},
    "text-delta": {"type", "id", "delta", "providerMetadata"},
    "text-end": {"type", "id", "providerMetadata"},
    "reasoning-start": {"type", "id", "providerMetadata"},
    "reasoning-delta": {"type", "id", "delta", "providerMetadata"},
    "reasoning-end": {"type", "id", "providerMetadata"},
    "tool-input-start": {"type", "toolCallId", "toolName", "providerExecuted", "dynamic", "title"},
    "tool-input-delta": {"type", "toolCallId", "inputTextDelta"},
    "tool-input-available": {
        "type",
        "toolCallId",
        "toolName",
        "input",
        "providerExecuted",
        "providerMetadata",
        "dynamic",
        "title",
    },
    "tool-approval-request": {"type", "approvalId", "toolCallId"},
    "finish": {"type", "finishReason", "messageMetadata"},
    "error": {"type", "errorText"},
    "abort": {"type"},
}


@pytest.mark.parametrize(
    "chunk",
    [
        protocol.start("m"),
        protocol.start_step(),
        protocol.finish_step(),
        protocol.text_start("t"),
        protocol.text_delta("t", "x"),
        protocol.text_end("t"),
        protocol.reasoning_start("r"),
        protocol.reasoning_delta("r", "x"),
        protocol.reasoning_end("r", signature="sig"),
        protocol.tool_input_start("c", "list_tables"),
        protocol.tool_input_delta("c", "{"),
        protocol.tool_input_available("c", "list_tables", {}),
        protocol.tool_approval_request("a", "c"),
        protocol.finish("stop", {"model": "m"}),
        protocol.error("bad"),
        protocol.abort(),
    ],
)
def test_chunks_carry_only_documented_keys(chunk: dict[str, Any]) -> None:
    assert set(chunk) <= STRICT_KEYS[chunk["type"]]
    assert {k for k, v in chunk.items() if v is None} == set()


def test_required_shapes() -> None:
    assert protocol.tool_approval_request("a", "c") == {
        "type": "tool-approval-request",
        "approvalId": "a",
        "toolCallId": "c",
    }
    assert protocol.abort() == {"type": "abort"}
    assert protocol.finish("nonsense") == {"type": "finish"}  # only the protocol's reasons
    assert protocol.data("schema", {"n": 1}, transient=True) == {
        "type": "data-schema",
        "data": {"n": 1},
        "transient": True,
    }
    assert protocol.HEADERS["x-vercel-ai-ui-message-stream"] == "v1"


def test_message_builder_matches_what_the_client_builds() -> None:
    builder = protocol.MessageBuilder()
    for chunk in [
        protocol.start_step(),
        protocol.reasoning_start("r1"),
        protocol.reasoning_delta("r1", "hm"),
        protocol.reasoning_end("r1", signature="sig"),
        protocol.text_start("t1"),
        protocol.text_delta("t1", "Hel"),
        protocol.text_delta("t1", "lo"),
        protocol.text_end("t1"),
        protocol.tool_input_start("c1", "run_readonly_query"),
        protocol.tool_input_delta("c1", '{"sql"'),
        protocol.tool_input_available("c1", "run_readonly_query", {"sql": "DELETE FROM t"}),
        protocol.tool_approval_request("tok", "c1"),
    ]:
        builder.apply(chunk)
    assert builder.parts == [
        {"type": "step-start"},
        {
            "type": "reasoning",
            "text": "hm",
            "state": "done",
            "providerMetadata": {"anthropic": {"signature": "sig"}},
        },
        {"type": "text", "text": "Hello", "state": "done"},
        {
            "type": "tool-run_readonly_query",
            "toolCallId": "c1",
            "state": "approval-requested",
            "input": {"sql": "DELETE FROM t"},
            "approval": {"id": "tok"},
        },
    ]
    assert builder.text() == "Hello"


def test_open_parts_are_closed() -> None:
    builder = protocol.MessageBuilder([{"type": "step-start"}, {"type": "text", "text": "old"}])
    assert not builder.has_new_content()
    builder.apply(protocol.start_step())
    builder.apply(protocol.text_start("t9"))
    builder.apply(protocol.text_delta("t9", "new"))
    assert builder.has_new_content()
    assert builder.close_open_parts() == [protocol.text_end("t9")]
    assert builder.parts[-1] == {"type": "text", "text": "new", "state": "done"}


# ---------------------------------------------------------------------------------------------
# UI messages to provider messages
# ---------------------------------------------------------------------------------------------
def tool_part(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "tool-run_readonly_query",
        "toolCallId": "c1",
        "state": state,
        "input": {"sql": "SELECT 1 LIMIT 200", "guardrail": {"kind": "read_only"}},
        **extra,
    }


def test_steps_become_turns_with_their_tool_results() -> None:
    messages = conversation.provider_messages(
        [
            {"id": "s", "role": "system", "parts": [{"type": "text", "text": "ignored"}]},
            {
                "id": "u",
                "role": "user",
                "parts": [
                    {"type": "text", "text": "hi"},
                    {"type": "file", "mediaType": "text/csv", "filename": "a.csv", "url": "x"},
                ],
            },
            {
                "id": "a",
                "role": "assistant",
                "parts": [
                    {"type": "step-start"},
                    {
                        "type": "reasoning",
                        "text": "r",
                        "providerMetadata": {"anthropic": {"signature": "s"}},
                    },
                    {"type": "text", "text": "Checking."},
                    tool_part("output-available", output=[{"?column?": 1}]),
                    {"type": "step-start"},
                    {"type": "text", "text": "It is 1."},
                    {"type": "data-schema", "data": {}},
                ],
            },
        ]
    )
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[0].text == "hi\n\n[attached file: a.csv]"
    assert messages[1].parts == (
        ReasoningPart("r", "s"),
        TextPart("Checking."),
        # What the service added for the client (the verdict) does not go back to the model.
        ToolCallPart("c1", "run_readonly_query", {"sql": "SELECT 1 LIMIT 200"}),
    )
    assert messages[2].parts == (ToolResultPart("c1", "run_readonly_query", '[{"?column?": 1}]'),)
    assert messages[3].text == "It is 1."


@pytest.mark.parametrize(
    ("part", "output", "is_error"),
    [
        (tool_part("output-error", errorText="permission denied"), "permission denied", True),
        (tool_part("output-denied"), conversation.DECLINED, True),
        (
            tool_part(
                "approval-responded", approval={"id": "a", "approved": False, "reason": "no"}
            ),
            conversation.DECLINED + " Reason: no",
            True,
        ),
        (tool_part("input-available"), conversation.NOT_RUN, True),
        (tool_part("approval-requested", approval={"id": "a"}), conversation.NOT_RUN, True),
    ],
)
def test_every_tool_call_gets_a_result(part: dict[str, Any], output: str, is_error: bool) -> None:
    messages = conversation.provider_messages([{"id": "a", "role": "assistant", "parts": [part]}])
    assert messages[1].parts == (ToolResultPart("c1", "run_readonly_query", output, is_error),)


def test_half_streamed_calls_and_huge_outputs() -> None:
    messages = conversation.provider_messages(
        [
            {
                "id": "a",
                "role": "assistant",
                "parts": [
                    tool_part("output-available", output="x" * 50_000),
                    {**tool_part("input-streaming"), "toolCallId": "c2"},
                ],
            }
        ]
    )
    result = messages[1].parts[0]
    assert isinstance(result, ToolResultPart)
    assert len(result.output) < 21_000
    assert result.output.endswith("[truncated]")
    assert len(messages[0].parts) == 1  # the half-streamed call is left out


def test_client_results_merge_into_the_stored_message() -> None:
    stored = [
        {"type": "step-start"},
        {"type": "text", "text": "server text", "state": "done"},
        tool_part("input-available"),
    ]
    client = [
        {"type": "text", "text": "forged", "state": "done"},
        tool_part("output-available", output=[1], input={"sql": "DROP TABLE x"}),
    ]
    merged = conversation.merge_tool_results(stored, client)
    assert merged[1]["text"] == "server text"
    assert merged[2]["state"] == "output-available"
    assert merged[2]["output"] == [1]
    assert merged[2]["input"] == {"sql": "SELECT 1 LIMIT 200", "guardrail": {"kind": "read_only"}}
