"""OpenAI Chat Completions over the official SDK: OpenAI itself ("openai_chat") and any server
that speaks the same API ("compatible": Ollama, vLLM, LM Studio, ...)."""

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
from ai.providers.errors import ProviderError, from_exception
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

# The OpenAI SDK insists on a key; local servers usually want none and ignore this one.
NO_KEY = "not-needed"

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "content_filter": "content-filter",
}


def chat_messages(system: str, messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if system:
        out.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "tool":
            for part in message.parts:
                if isinstance(part, ToolResultPart):
                    out.append(
                        {"role": "tool", "tool_call_id": part.tool_call_id, "content": part.output}
                    )
            continue
        text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
        if message.role == "user":
            out.append({"role": "user", "content": text})
            continue
        entry: dict[str, Any] = {"role": "assistant", "content": text or None}
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        if calls:
            entry["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.input)},
                }
                for call in calls
            ]
        if text or calls:
            out.append(entry)
    return out


def _reasoning_text(delta: Any) -> str | None:
    # vLLM, Ollama and DeepSeek-style servers stream reasoning in a non-standard delta field.
    extra = getattr(delta, "model_extra", None) or {}
    for key in ("reasoning_content", "reasoning"):
        value = extra.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class OpenAIChatProvider(SdkProvider):
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        models: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        http_client: httpx2.Client | None = None,
        name: str = "openai_chat",
        compatible: bool = False,
    ) -> None:
        super().__init__(models=models)
        self.name = name
        self._compatible = compatible
        self._client = openai.OpenAI(
            # Never None: the SDK would then read OPENAI_API_KEY and could send OpenAI's key to
            # a compatible server.
            api_key=api_key or NO_KEY,
            base_url=base_url,
            timeout=sdk_timeout(timeout),
            max_retries=0,
            http_client=http_client,
        )

    def _params(self, request: ChatRequest, model: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model,
            "messages": chat_messages(request.system, request.messages),
        }
        # OpenAI's reasoning models reject max_tokens; older compatible servers only know it.
        tokens_key = "max_tokens" if self._compatible else "max_completion_tokens"
        params[tokens_key] = request.max_output_tokens
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.input_schema,
                    },
                }
                for t in request.tools
            ]
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.json_output:
            params["response_format"] = {"type": "json_object"}
        return params

    def stream_chat(self, request: ChatRequest) -> Iterator[ProviderEvent]:
        model = self._model(request)
        params = self._params(request, model)

        def produce(handle: StreamHandle) -> Iterator[ProviderEvent]:
            stream = self._client.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            handle.attach(stream.response)
            with stream:
                yield from self._translate(stream, handle, model)

        yield from run_stream(produce, provider=self.name, cancel=request.cancel)

    def _translate(self, stream: Any, handle: StreamHandle, model: str) -> Iterator[ProviderEvent]:
        calls: dict[int, ToolBuffer] = {}
        finish: str | None = None
        usage: Any = None
        for chunk in stream:
            if handle.aborted:
                return
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                delta = choice.delta
                if delta is not None:
                    reasoning = _reasoning_text(delta)
                    if reasoning:
                        yield ReasoningDelta(reasoning)
                    if delta.content:
                        yield TextDelta(delta.content)
                    if delta.refusal:
                        yield TextDelta(delta.refusal)
                    for call in delta.tool_calls or ():
                        index = call.index if call.index is not None else len(calls)
                        buffer = calls.get(index)
                        function = call.function
                        if buffer is None:
                            buffer = ToolBuffer(
                                call.id or f"call_{index}",
                                (function.name if function else "") or "",
                            )
                            calls[index] = buffer
                            yield ToolCallStart(buffer.id, buffer.name)
                        if function is not None and function.arguments:
                            buffer.parts.append(function.arguments)
                            yield ToolCallDelta(buffer.id, function.arguments)
                if choice.finish_reason and finish is None:
                    finish = choice.finish_reason
                    for index in sorted(calls):
                        buffer = calls[index]
                        yield ToolCallEnd(
                            buffer.id,
                            buffer.name,
                            parse_tool_input(
                                buffer.arguments, provider=self.name, name=buffer.name
                            ),
                        )
        if finish is None:
            raise ProviderError(
                "unavailable", provider=self.name, detail=f"{self.name}: stream ended early"
            )
        if usage is not None:
            yield Usage(
                usage_int(usage.prompt_tokens),
                usage_int(usage.completion_tokens),
                provider=self.name,
                model=model,
            )
        reason = _FINISH.get(finish, "other")
        if calls and reason == "stop":  # some compatible servers say "stop" after tool calls
            reason = "tool-calls"
        yield Finish(reason, provider=self.name, model=model)

    def complete(self, request: ChatRequest) -> ProviderResult:
        model = self._model(request)
        try:
            completion = self._client.chat.completions.create(**self._params(request, model))
        except Exception as exc:
            raise from_exception(exc, provider=self.name) from None
        if not completion.choices:
            raise ProviderError.bad_response(provider=self.name, detail=f"{self.name}: no choices")
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(
                call.id,
                call.function.name,
                parse_tool_input(
                    call.function.arguments, provider=self.name, name=call.function.name
                ),
            )
            for call in (message.tool_calls or ())
            if call.type == "function"
        )
        reason = _FINISH.get(choice.finish_reason or "", "other")
        if calls and reason == "stop":
            reason = "tool-calls"
        usage = completion.usage
        return ProviderResult(
            text=message.content or message.refusal or "",
            reasoning=_reasoning_text(message) or "",
            tool_calls=calls,
            finish_reason=reason,
            provider=self.name,
            model=model,
            usage=Usage(
                usage_int(usage.prompt_tokens),
                usage_int(usage.completion_tokens),
                provider=self.name,
                model=model,
            )
            if usage is not None
            else None,
        )
