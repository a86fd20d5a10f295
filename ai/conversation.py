"""AI SDK UI messages (what the client sends) to provider messages (what the model reads).

An assistant UI message may hold several steps (split by `step-start` parts): each step becomes
an assistant turn with its text, reasoning and tool calls, followed by a tool turn with the
results the client reported for those calls.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ai import tools
from ai.providers import (
    Message,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

# A tool result longer than this is cut (the model rarely needs thousands of rows).
MAX_TOOL_OUTPUT_CHARS = 20_000
DECLINED = "The user declined to run this."
NOT_RUN = "No result: the tool was not run."


def tool_name_of(part: dict[str, Any]) -> str | None:
    kind = part.get("type")
    if not isinstance(kind, str):
        return None
    if kind == "dynamic-tool":
        name = part.get("toolName")
        return name if isinstance(name, str) else None
    if kind.startswith("tool-"):
        return kind[len("tool-") :]
    return None


def _output_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > MAX_TOOL_OUTPUT_CHARS:
        text = text[:MAX_TOOL_OUTPUT_CHARS] + " …[truncated]"
    return text


def _tool_result(part: dict[str, Any], name: str) -> ToolResultPart:
    call_id = str(part.get("toolCallId"))
    state = part.get("state")
    if state == "output-available":
        return ToolResultPart(call_id, name, _output_text(part.get("output")))
    if state == "output-error":
        return ToolResultPart(call_id, name, str(part.get("errorText") or "Error"), is_error=True)
    approval: dict[str, Any] = part["approval"] if isinstance(part.get("approval"), dict) else {}
    if state == "output-denied" or (state == "approval-responded" and not approval.get("approved")):
        reason = approval.get("reason")
        return ToolResultPart(
            call_id, name, DECLINED + (f" Reason: {reason}" if reason else ""), is_error=True
        )
    return ToolResultPart(call_id, name, NOT_RUN, is_error=True)


def _signature(part: dict[str, Any]) -> str | None:
    meta = part.get("providerMetadata")
    if isinstance(meta, dict) and isinstance(meta.get("anthropic"), dict):
        signature = meta["anthropic"].get("signature")
        return signature if isinstance(signature, str) else None
    return None


def _user_text(parts: Sequence[Any]) -> str:
    texts = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "file":
            texts.append(f"[attached file: {part.get('filename') or part.get('mediaType')}]")
    return "\n\n".join(t for t in texts if t)


def _assistant_turns(parts: Sequence[Any]) -> list[Message]:
    steps: list[list[dict[str, Any]]] = [[]]
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "step-start":
            if steps[-1]:
                steps.append([])
            continue
        steps[-1].append(part)
    turns: list[Message] = []
    for step in steps:
        content: list[TextPart | ReasoningPart | ToolCallPart] = []
        results: list[ToolResultPart] = []
        for part in step:
            kind = part.get("type")
            if kind == "text" and part.get("text"):
                content.append(TextPart(str(part["text"])))
            elif kind == "reasoning" and part.get("text"):
                content.append(ReasoningPart(str(part["text"]), _signature(part)))
            elif (name := tool_name_of(part)) and part.get("toolCallId"):
                if part.get("state") == "input-streaming":
                    continue  # cut off mid-call: the model never finished asking
                call_id = str(part["toolCallId"])
                content.append(
                    ToolCallPart(call_id, name, tools.model_input(name, part.get("input")))
                )
                results.append(_tool_result(part, name))
        if content:
            turns.append(Message("assistant", tuple(content)))
        if results:
            turns.append(Message.tool_results(results))
    return turns


def provider_messages(ui_messages: Sequence[dict[str, Any]]) -> list[Message]:
    """The conversation for the model. System messages from clients are ignored: the service
    writes the system prompt."""
    out: list[Message] = []
    for message in ui_messages:
        role = message.get("role")
        parts: list[Any] = message["parts"] if isinstance(message.get("parts"), list) else []
        if role == "user":
            text = _user_text(parts)
            if text:
                out.append(Message.user(text))
        elif role == "assistant":
            out.extend(_assistant_turns(parts))
    return out


def first_user_text(ui_messages: Sequence[dict[str, Any]]) -> str:
    for message in ui_messages:
        if message.get("role") == "user":
            text = _user_text(message.get("parts") or [])
            if text:
                return text
    return ""


def last_user_text(ui_messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(ui_messages):
        if message.get("role") == "user":
            return _user_text(message.get("parts") or [])
    return ""


def merge_tool_results(
    stored: list[dict[str, Any]], client: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The stored assistant parts with the client's tool results applied (matched by
    toolCallId): the client may add outputs and approval answers, never rewrite the text."""
    by_id = {
        str(part.get("toolCallId")): part
        for part in client
        if isinstance(part, dict) and tool_name_of(part) and part.get("toolCallId")
    }
    merged: list[dict[str, Any]] = []
    for part in stored:
        update = by_id.get(str(part.get("toolCallId"))) if tool_name_of(part) else None
        if update is None:
            merged.append(part)
            continue
        new = dict(part)
        for key in ("state", "output", "errorText", "approval"):
            if key in update:
                new[key] = update[key]
        merged.append(new)
    return merged
