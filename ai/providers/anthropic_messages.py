"""Anthropic Messages API over the official SDK, streamed with `messages.create(stream=True)`
so every raw event (text, thinking, signature and tool-input deltas) is seen as it arrives."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import anthropic
import httpx2

from ai.providers._base import (
    DEFAULT_TIMEOUT_SECONDS,
    SdkProvider,
    ToolBuffer,
    parse_tool_input,
    sdk_timeout,
    usage_int,
)
from ai.providers._stream import StreamHandle, run_stream
from ai.providers.errors import ProviderError, from_exception
from ai.providers.types import (
    ChatRequest,
    Finish,
    FinishReason,
    Message,
    ProviderEvent,
    ProviderResult,
    ReasoningDelta,
    ReasoningPart,
    ReasoningSignature,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
    Usage,
)

MIN_THINKING_BUDGET = 1024  # the API's floor

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool-calls",
    "refusal": "content-filter",
}


def anthropic_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Normalized messages to Anthropic's: tool results travel in a user turn, and consecutive
    turns of one role are merged (the API wants them to alternate)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = "assistant" if message.role == "assistant" else "user"
        blocks: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                if part.text:  # the API rejects empty text blocks
                    blocks.append({"type": "text", "text": part.text})
            elif isinstance(part, ReasoningPart):
                if role == "assistant" and part.signature:
                    blocks.append(
                        {"type": "thinking", "thinking": part.text, "signature": part.signature}
                    )
            elif isinstance(part, ToolCallPart):
                blocks.append(
                    {"type": "tool_use", "id": part.id, "name": part.name, "input": part.input}
                )
            elif isinstance(part, ToolResultPart):
                block: dict[str, Any] = {
                    "type": "tool_result",
                    "tool_use_id": part.tool_call_id,
                    "content": part.output,
                }
                if part.is_error:
                    block["is_error"] = True
                blocks.append(block)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


class AnthropicProvider(SdkProvider):
    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        models: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        http_client: httpx2.Client | None = None,
    ) -> None:
        super().__init__(models=models)
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=sdk_timeout(timeout),
            max_retries=0,  # the fallback chain retries, with its own backoff
            http_client=http_client,
        )

    def _params(self, request: ChatRequest, model: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_output_tokens,
            "messages": anthropic_messages(request.messages),
        }
        if request.system:
            params["system"] = request.system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
        if request.thinking_budget_tokens:
            budget = max(MIN_THINKING_BUDGET, request.thinking_budget_tokens)
            params["thinking"] = {"type": "enabled", "budget_tokens": budget}
            # max_tokens covers thinking too and must exceed the budget.
            params["max_tokens"] = request.max_output_tokens + budget
        # request.temperature is not sent: the installed SDK's Messages API has no such
        # parameter any more (see Messages.create's signature).
        return params

    def stream_chat(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        model = self._model(request)
        params = self._params(request, model)

        def produce(handle: StreamHandle) -> Iterator[ProviderEvent]:
            stream = self._client.messages.create(**params, stream=True)
            handle.attach(stream.response)
            with stream:
                yield from self._translate(stream, handle, model)

        yield from run_stream(produce, provider=self.name, cancel=request.cancel)

    def _translate(self, stream: Any, handle: StreamHandle, model: str) -> Iterator[ProviderEvent]:
        tools: dict[int, ToolBuffer] = {}
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        for event in stream:
            if handle.aborted:
                return
            kind = event.type
            if kind == "message_start":
                usage = event.message.usage
                input_tokens = (
                    usage_int(usage.input_tokens)
                    + usage_int(usage.cache_creation_input_tokens)
                    + usage_int(usage.cache_read_input_tokens)
                )
                output_tokens = usage_int(usage.output_tokens)
            elif kind == "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    tools[event.index] = ToolBuffer(block.id, block.name)
                    yield ToolCallStart(block.id, block.name)
                elif block.type == "text" and block.text:
                    yield TextDelta(block.text)
                elif block.type == "thinking" and block.thinking:
                    yield ReasoningDelta(block.thinking)
            elif kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    if delta.text:
                        yield TextDelta(delta.text)
                elif delta.type == "thinking_delta":
                    if delta.thinking:
                        yield ReasoningDelta(delta.thinking)
                elif delta.type == "signature_delta":
                    yield ReasoningSignature(delta.signature)
                elif delta.type == "input_json_delta":
                    buffer = tools.get(event.index)
                    if buffer is not None and delta.partial_json:
                        buffer.parts.append(delta.partial_json)
                        yield ToolCallDelta(buffer.id, delta.partial_json)
            elif kind == "content_block_stop":
                buffer = tools.pop(event.index, None)
                if buffer is not None:
                    tool_input = parse_tool_input(
                        buffer.arguments, provider=self.name, name=buffer.name
                    )
                    yield ToolCallEnd(buffer.id, buffer.name, tool_input)
            elif kind == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                output_tokens = usage_int(event.usage.output_tokens) or output_tokens
                if event.usage.input_tokens is not None:  # cumulative when present
                    input_tokens = (
                        usage_int(event.usage.input_tokens)
                        + usage_int(event.usage.cache_creation_input_tokens)
                        + usage_int(event.usage.cache_read_input_tokens)
                    )
        if stop_reason is None:
            raise ProviderError(
                "unavailable", provider=self.name, detail=f"{self.name}: stream ended early"
            )
        yield Usage(input_tokens, output_tokens, provider=self.name, model=model)
        yield Finish(_FINISH.get(stop_reason, "other"), provider=self.name, model=model)

    def complete(self, request: ChatRequest) -> ProviderResult:
        model = self._model(request)
        try:
            message = self._client.messages.create(**self._params(request, model))
        except Exception as exc:
            raise from_exception(exc, provider=self.name) from None
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "thinking":
                reasoning.append(block.thinking)
            elif block.type == "tool_use":
                calls.append(ToolCall(block.id, block.name, dict(block.input or {})))
        usage = message.usage
        return ProviderResult(
            text="".join(text),
            reasoning="".join(reasoning),
            tool_calls=tuple(calls),
            finish_reason=_FINISH.get(message.stop_reason or "", "other"),
            provider=self.name,
            model=model,
            usage=Usage(
                usage_int(usage.input_tokens)
                + usage_int(usage.cache_creation_input_tokens)
                + usage_int(usage.cache_read_input_tokens),
                usage_int(usage.output_tokens),
                provider=self.name,
                model=model,
            ),
        )
