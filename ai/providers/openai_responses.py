"""OpenAI Responses API over the official SDK (the "openai" provider). Requests are sent with
`store=False`: nothing of a conversation is kept on OpenAI's side."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx2
import openai

from ai.providers._base import (
    DEFAULT_TIMEOUT_SECONDS,
    SdkProvider,
    ToolBuffer,
    parse_tool_input,
    sdk_timeout,
    usage_int,
)
from ai.providers._stream import StreamHandle, run_stream
from ai.providers.errors import ProviderError, classify, from_exception
from ai.providers.types import (
    ChatRequest,
    Finish,
    FinishReason,
    Message,
    ProviderEvent,
    ProviderResult,
    ReasoningDelta,
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

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content-filter",
}


def responses_input(messages: Sequence[Message]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
        if message.role == "user":
            items.append({"role": "user", "content": text})
            continue
        if message.role == "assistant" and text:
            items.append({"role": "assistant", "content": text})
        for part in message.parts:
            if isinstance(part, ToolCallPart):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": part.id,
                        "name": part.name,
                        "arguments": json.dumps(part.input),
                    }
                )
            elif isinstance(part, ToolResultPart):
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": part.tool_call_id,
                        "output": part.output,
                    }
                )
    return items


def _failure(error: Any, provider: str) -> ProviderError:
    code = getattr(error, "code", None)
    error_type = getattr(error, "type", None)
    return classify(
        provider=provider,
        status=None,
        error_code=str(code) if code else None,
        error_type=error_type if error_type != "error" else None,  # the event's own type
        message=getattr(error, "message", None),
        # Policy refusals and invalid prompts will fail again anywhere: no retry, no fallback.
        default="invalid_request",
    )


def _usage(response: Any, provider: str, model: str) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    return Usage(
        usage_int(usage.input_tokens),
        usage_int(usage.output_tokens),
        provider=provider,
        model=model,
    )


class OpenAIResponsesProvider(SdkProvider):
    name = "openai"

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
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=sdk_timeout(timeout),
            max_retries=0,
            http_client=http_client,
        )

    def _params(self, request: ChatRequest, model: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model,
            "input": responses_input(request.messages),
            "max_output_tokens": request.max_output_tokens,
            "store": False,
        }
        if request.system:
            params["instructions"] = request.system
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                    "strict": False,
                }
                for t in request.tools
            ]
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.thinking_budget_tokens:
            params["reasoning"] = {"summary": "auto"}
        if request.json_output:
            params["text"] = {"format": {"type": "json_object"}}
        return params

    def stream_chat(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        model = self._model(request)
        params = self._params(request, model)

        def produce(handle: StreamHandle) -> Iterator[ProviderEvent]:
            stream = self._client.responses.create(**params, stream=True)
            handle.attach(stream.response)
            with stream:
                yield from self._translate(stream, handle, model)

        yield from run_stream(produce, provider=self.name, cancel=request.cancel)

    def _end_call(self, buffer: ToolBuffer, arguments: str | None) -> ToolCallEnd:
        final = arguments if arguments else buffer.arguments
        return ToolCallEnd(
            buffer.id, buffer.name, parse_tool_input(final, provider=self.name, name=buffer.name)
        )

    def _translate(self, stream: Any, handle: StreamHandle, model: str) -> Iterator[ProviderEvent]:
        calls: dict[str, ToolBuffer] = {}  # by output item id
        called = False
        reason: FinishReason | None = None
        final: Any = None
        for event in stream:
            if handle.aborted:
                return
            kind = event.type
            if kind in ("response.output_text.delta", "response.refusal.delta"):
                if event.delta:
                    yield TextDelta(event.delta)
            elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
                if event.delta:
                    yield ReasoningDelta(event.delta)
            elif kind == "response.output_item.added":
                item = event.item
                if item.type == "function_call":
                    buffer = ToolBuffer(item.call_id, item.name)
                    calls[item.id or item.call_id] = buffer
                    yield ToolCallStart(buffer.id, buffer.name)
                    if item.arguments:
                        buffer.parts.append(item.arguments)
                        yield ToolCallDelta(buffer.id, item.arguments)
            elif kind == "response.function_call_arguments.delta":
                pending = calls.get(event.item_id)
                if pending is not None and event.delta:
                    pending.parts.append(event.delta)
                    yield ToolCallDelta(pending.id, event.delta)
            elif kind == "response.output_item.done":
                item = event.item
                if item.type == "function_call":
                    done = calls.pop(item.id or item.call_id, None)
                    called = True
                    yield self._end_call(
                        done or ToolBuffer(item.call_id, item.name), item.arguments
                    )
            elif kind == "response.completed":
                final = event.response
                reason = "stop"
            elif kind == "response.incomplete":
                final = event.response
                details = final.incomplete_details
                reason = _INCOMPLETE.get(details.reason if details else "", "other")
            elif kind == "response.failed":
                raise _failure(event.response.error, self.name)
            elif kind == "error":
                raise _failure(event, self.name)
        if reason is None:
            raise ProviderError(
                "unavailable", provider=self.name, detail=f"{self.name}: stream ended early"
            )
        for buffer in calls.values():  # calls whose output_item.done never came
            called = True
            yield self._end_call(buffer, None)
        if called and reason == "stop":
            reason = "tool-calls"
        usage = _usage(final, self.name, model)
        if usage is not None:
            yield usage
        yield Finish(reason, provider=self.name, model=model)

    def complete(self, request: ChatRequest) -> ProviderResult:
        model = self._model(request)
        try:
            response = self._client.responses.create(**self._params(request, model))
        except Exception as exc:
            raise from_exception(exc, provider=self.name) from None
        if response.status == "failed":
            raise _failure(response.error, self.name)
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        for item in response.output:
            if item.type == "message":
                for content in item.content:
                    if content.type == "output_text":
                        text.append(content.text)
                    elif content.type == "refusal":
                        text.append(content.refusal)
            elif item.type == "function_call":
                calls.append(
                    ToolCall(
                        item.call_id,
                        item.name,
                        parse_tool_input(item.arguments, provider=self.name, name=item.name),
                    )
                )
            elif item.type == "reasoning":
                reasoning.extend(summary.text for summary in item.summary)
        reason: FinishReason = "stop"
        if response.status == "incomplete":
            details = response.incomplete_details
            reason = _INCOMPLETE.get(details.reason if details and details.reason else "", "other")
        elif calls:
            reason = "tool-calls"
        return ProviderResult(
            text="".join(text),
            reasoning="".join(reasoning),
            tool_calls=tuple(calls),
            finish_reason=reason,
            provider=self.name,
            model=model,
            usage=_usage(response, self.name, model),
        )
