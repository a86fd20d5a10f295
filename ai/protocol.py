"""The Vercel AI SDK UI message stream protocol (v1), server side.

Chunk constructors emit only the keys the protocol documents, in the shapes that ai@5.0.0 and
ai@6.0.0 accept (both parse strictly; see /shared/design/ai-stream.md). `MessageBuilder` folds
the chunks of a generation into UI message parts the way the client's own
`processUIMessageStream` does, so the message the service stores is the message the client
shows.
"""

from __future__ import annotations

import copy
from typing import Any

FINISH_REASONS = frozenset({"stop", "length", "content-filter", "tool-calls", "error", "other"})

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "x-vercel-ai-ui-message-stream": "v1",
}
CONTENT_TYPE = "text/event-stream"


def start(message_id: str) -> dict[str, Any]:
    return {"type": "start", "messageId": message_id}


def start_step() -> dict[str, Any]:
    return {"type": "start-step"}


def finish_step() -> dict[str, Any]:
    return {"type": "finish-step"}


def text_start(part_id: str) -> dict[str, Any]:
    return {"type": "text-start", "id": part_id}


def text_delta(part_id: str, delta: str) -> dict[str, Any]:
    return {"type": "text-delta", "id": part_id, "delta": delta}


def text_end(part_id: str) -> dict[str, Any]:
    return {"type": "text-end", "id": part_id}


def reasoning_start(part_id: str) -> dict[str, Any]:
    return {"type": "reasoning-start", "id": part_id}


def reasoning_delta(part_id: str, delta: str) -> dict[str, Any]:
    return {"type": "reasoning-delta", "id": part_id, "delta": delta}


def reasoning_end(part_id: str, *, signature: str | None = None) -> dict[str, Any]:
    chunk: dict[str, Any] = {"type": "reasoning-end", "id": part_id}
    if signature:
        # Where the AI SDK's own Anthropic provider keeps it; sent back on the next turn.
        chunk["providerMetadata"] = {"anthropic": {"signature": signature}}
    return chunk


def tool_input_start(tool_call_id: str, tool_name: str) -> dict[str, Any]:
    return {"type": "tool-input-start", "toolCallId": tool_call_id, "toolName": tool_name}


def tool_input_delta(tool_call_id: str, delta: str) -> dict[str, Any]:
    return {"type": "tool-input-delta", "toolCallId": tool_call_id, "inputTextDelta": delta}


def tool_input_available(tool_call_id: str, tool_name: str, tool_input: Any) -> dict[str, Any]:
    return {
        "type": "tool-input-available",
        "toolCallId": tool_call_id,
        "toolName": tool_name,
        "input": tool_input,
    }


def tool_approval_request(approval_id: str, tool_call_id: str) -> dict[str, Any]:
    # Exactly these keys: ai@6.0.0 refuses any other.
    return {"type": "tool-approval-request", "approvalId": approval_id, "toolCallId": tool_call_id}


def data(name: str, value: Any, *, transient: bool = False) -> dict[str, Any]:
    chunk: dict[str, Any] = {"type": f"data-{name}", "data": value}
    if transient:
        chunk["transient"] = True
    return chunk


def finish(finish_reason: str | None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """`finishReason` is dropped again for clients before ai@6 (see ai.streams.adapt_chunk)."""
    chunk: dict[str, Any] = {"type": "finish"}
    if finish_reason in FINISH_REASONS:
        chunk["finishReason"] = finish_reason
    if metadata:
        chunk["messageMetadata"] = metadata
    return chunk


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "errorText": message}


def abort() -> dict[str, Any]:
    # No keys besides the type: ai@6.0.0 refuses `reason`.
    return {"type": "abort"}


# ---------------------------------------------------------------------------------------------
# Folding chunks into a UI message
# ---------------------------------------------------------------------------------------------
TOOL_DONE_STATES = frozenset({"output-available", "output-error", "output-denied"})


class MessageBuilder:
    """The assistant message's parts as the client builds them from the chunks.

    `parts` may start from an earlier step of the same message (a continuation after the
    client's tool results)."""

    def __init__(self, parts: list[dict[str, Any]] | None = None) -> None:
        self.parts: list[dict[str, Any]] = copy.deepcopy(parts or [])
        self._text: dict[str, dict[str, Any]] = {}
        self._reasoning: dict[str, dict[str, Any]] = {}
        self._tools: dict[str, dict[str, Any]] = {
            part["toolCallId"]: part
            for part in self.parts
            if isinstance(part, dict) and "toolCallId" in part
        }
        self.new_parts_start = len(self.parts)

    def apply(self, chunk: dict[str, Any]) -> None:
        kind = chunk["type"]
        part: dict[str, Any]
        if kind == "start-step":
            self.parts.append({"type": "step-start"})
        elif kind == "text-start":
            part = {"type": "text", "text": "", "state": "streaming"}
            self._text[chunk["id"]] = part
            self.parts.append(part)
        elif kind == "text-delta":
            self._text[chunk["id"]]["text"] += chunk["delta"]
        elif kind == "text-end":
            self._text.pop(chunk["id"])["state"] = "done"
        elif kind == "reasoning-start":
            part = {"type": "reasoning", "text": "", "state": "streaming"}
            self._reasoning[chunk["id"]] = part
            self.parts.append(part)
        elif kind == "reasoning-delta":
            self._reasoning[chunk["id"]]["text"] += chunk["delta"]
        elif kind == "reasoning-end":
            part = self._reasoning.pop(chunk["id"])
            part["state"] = "done"
            if chunk.get("providerMetadata"):
                part["providerMetadata"] = chunk["providerMetadata"]
        elif kind == "tool-input-start":
            part = {
                "type": f"tool-{chunk['toolName']}",
                "toolCallId": chunk["toolCallId"],
                "state": "input-streaming",
                "input": None,
            }
            self._tools[chunk["toolCallId"]] = part
            self.parts.append(part)
        elif kind == "tool-input-available":
            tool = self._tools.get(chunk["toolCallId"])
            if tool is None:
                tool = {"type": f"tool-{chunk['toolName']}", "toolCallId": chunk["toolCallId"]}
                self._tools[chunk["toolCallId"]] = tool
                self.parts.append(tool)
            tool["state"] = "input-available"
            tool["input"] = chunk["input"]
        elif kind == "tool-approval-request":
            tool = self._tools[chunk["toolCallId"]]
            tool["state"] = "approval-requested"
            tool["approval"] = {"id": chunk["approvalId"]}

    def close_open_parts(self) -> list[dict[str, Any]]:
        """End chunks for every text and reasoning part still open (applied here too)."""
        chunks = [text_end(part_id) for part_id in self._text]
        chunks += [reasoning_end(part_id) for part_id in self._reasoning]
        for chunk in chunks:
            self.apply(chunk)
        return chunks

    def text(self) -> str:
        return "".join(p.get("text", "") for p in self.parts if p.get("type") == "text")

    def has_new_content(self) -> bool:
        return any(part.get("type") != "step-start" for part in self.parts[self.new_parts_start :])
