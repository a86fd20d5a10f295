"""A local fake of the LLM provider APIs, for tests and benchmarks.

It speaks, over real HTTP on 127.0.0.1, just enough of each wire format for the official SDKs:

- OpenAI Chat Completions: `POST .../chat/completions`, streamed (SSE `data:` chunks, tool-call
  deltas, a usage chunk when `stream_options.include_usage` is set, `data: [DONE]`) or not;
- OpenAI Responses: `POST .../responses`, streamed (`response.created`, output items, text,
  reasoning-summary and function-call-argument deltas, `response.completed` with usage) or not;
- Anthropic Messages: `POST .../messages`, streamed (`message_start`, `content_block_*` for text,
  thinking and tool_use with `input_json_delta`, `message_delta` with usage and stop_reason,
  `message_stop`) or not.

Replies are scripted per test and dialect-neutral: `server.enqueue(text("Hi there"),
overloaded())` makes the next request get a 529/503 in whatever dialect it spoke, and the one
after that stream "Hi there". Streams go out chunk by chunk (chunked transfer encoding, flushed
per event), paced by `token_delay`. While pacing, the server watches the socket, so a client that
hangs up is noticed at once and recorded in `server.disconnects`.

Use it through the `fake_llm` fixture (tests/fakes/fixtures.py), or directly:

    with FakeLLMServer(token_delay=0.02) as server:
        server.enqueue(text("Hello"))
        ...  # point a client at server.url (Anthropic) or server.openai_url (OpenAI)
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Dialect = Literal["anthropic", "openai_chat", "openai_responses"]
FinishKind = Literal["stop", "length", "tool_calls", "content_filter"]


# ---------------------------------------------------------------------------------------------
# Scripts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any] | str  # a str is sent verbatim (to script malformed JSON)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build them with the helpers below rather than by hand."""

    kind: Literal["ok", "error", "hang", "disconnect", "stream_error"] = "ok"
    tokens: Sequence[str] = ()
    reasoning: Sequence[str] = ()
    tool_calls: Sequence[ScriptedToolCall] = ()
    finish: FinishKind | None = None  # None: "tool_calls" if there are tool calls, else "stop"
    usage: tuple[int, int] = (11, 7)  # (input tokens, output tokens)
    delay: float | None = None  # seconds between streamed events; None: the server's default
    headers_delay: float = 0.0  # silence before the response starts (time to first byte)
    # errors
    error: str = ""  # rate_limited, overloaded, server_error, bad_key, forbidden, ...
    status: int | None = None  # override the dialect's status for `error`
    message: str | None = None  # override the dialect's error message
    retry_after: float | None = None
    # hang / disconnect / stream_error
    seconds: float = 30.0  # how long a hang lasts (the server's stop ends it sooner)
    after_headers: bool = False  # hang after sending the 200 and the stream's first event
    after_tokens: int = 0  # text tokens sent before a disconnect or an in-stream error
    path: str | None = None  # only answer requests whose path ends with this

    @property
    def finish_kind(self) -> FinishKind:
        if self.finish is not None:
            return self.finish
        return "tool_calls" if self.tool_calls else "stop"


def _tokenize(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(re.findall(r"\s*\S+", value)) or ((value,) if value else ())
    return tuple(value)


def text(
    value: str | Iterable[str] = "Hello from the fake LLM.",
    *,
    reasoning: str | Iterable[str] = (),
    finish: FinishKind | None = None,
    usage: tuple[int, int] = (11, 7),
    delay: float | None = None,
    headers_delay: float = 0.0,
    path: str | None = None,
) -> Reply:
    """A text answer; a string is streamed word by word, a list item by item."""
    return Reply(
        tokens=_tokenize(value),
        reasoning=_tokenize(reasoning),
        finish=finish,
        usage=usage,
        delay=delay,
        headers_delay=headers_delay,
        path=path,
    )


def tool_call(
    name: str,
    arguments: dict[str, Any] | str,
    *,
    id: str | None = None,
    text_before: str | Iterable[str] = (),
    more: Sequence[ScriptedToolCall] = (),
    usage: tuple[int, int] = (21, 13),
    delay: float | None = None,
    path: str | None = None,
) -> Reply:
    return Reply(
        tokens=_tokenize(text_before),
        tool_calls=(ScriptedToolCall(name, arguments, id), *more),
        usage=usage,
        delay=delay,
        path=path,
    )


def error(
    kind: str,
    *,
    status: int | None = None,
    message: str | None = None,
    retry_after: float | None = None,
    path: str | None = None,
) -> Reply:
    return Reply(
        kind="error",
        error=kind,
        status=status,
        message=message,
        retry_after=retry_after,
        path=path,
    )


def rate_limited(retry_after: float | None = None, *, path: str | None = None) -> Reply:
    return error("rate_limited", retry_after=retry_after, path=path)


def overloaded(*, path: str | None = None) -> Reply:
    """Anthropic: 529 overloaded_error. OpenAI: 503."""
    return error("overloaded", path=path)


def server_error(status: int = 500, *, path: str | None = None) -> Reply:
    return error("server_error", status=status, path=path)


def bad_key(*, path: str | None = None) -> Reply:
    """401 whose message quotes the key the client sent, as OpenAI's does."""
    return error("bad_key", path=path)


def forbidden(*, path: str | None = None) -> Reply:
    return error("forbidden", path=path)


def context_too_long(*, path: str | None = None) -> Reply:
    return error("context_too_long", path=path)


def hang(seconds: float = 30.0, *, after_headers: bool = False, path: str | None = None) -> Reply:
    """Say nothing for `seconds` (to trip the client's timeout), then close the connection."""
    return Reply(kind="hang", seconds=seconds, after_headers=after_headers, path=path)


def disconnect(
    after_tokens: int = 2,
    tokens: str | Iterable[str] = "one two three four five six",
    *,
    path: str | None = None,
) -> Reply:
    """Stream `after_tokens` text tokens, then drop the connection mid-body."""
    return Reply(kind="disconnect", tokens=_tokenize(tokens), after_tokens=after_tokens, path=path)


def stream_error(
    kind: str = "overloaded",
    after_tokens: int = 0,
    tokens: str | Iterable[str] = "one two three four",
    *,
    path: str | None = None,
) -> Reply:
    """A 200 stream that reports an error as an event after `after_tokens` text tokens."""
    return Reply(
        kind="stream_error",
        error=kind,
        tokens=_tokenize(tokens),
        after_tokens=after_tokens,
        path=path,
    )


# ---------------------------------------------------------------------------------------------
# Error bodies per dialect
# ---------------------------------------------------------------------------------------------
_ANTHROPIC_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limited": (
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your rate limit.",
    ),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
    "bad_key": (401, "authentication_error", "invalid x-api-key"),
    "forbidden": (
        403,
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    "not_found": (404, "not_found_error", "model: fake-model-that-does-not-exist"),
    "context_too_long": (
        400,
        "invalid_request_error",
        "prompt is too long: 212345 tokens > 200000 maximum",
    ),
    "bad_request": (400, "invalid_request_error", "messages: roles must alternate"),
    "billing": (400, "billing_error", "Your credit balance is too low."),
}

# (status, type, code, message)
_OPENAI_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "rate_limited": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    "overloaded": (
        503,
        "server_error",
        None,
        "The engine is currently overloaded, please try again later.",
    ),
    "server_error": (
        500,
        "server_error",
        None,
        "The server had an error while processing your request.",
    ),
    "bad_key": (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: {key}.",
    ),
    "forbidden": (
        403,
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    "not_found": (
        404,
        "invalid_request_error",
        "model_not_found",
        "The model `fake` does not exist or you do not have access to it.",
    ),
    "context_too_long": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 212345 tokens. Please reduce the length of the messages.",
    ),
    "bad_request": (400, "invalid_request_error", None, "Invalid value for 'messages'."),
    "billing": (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota.",
    ),
}


def _error_response(
    dialect: Dialect, reply: Reply, sent_key: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers: dict[str, str] = {}
    if reply.retry_after is not None:
        headers["retry-after"] = f"{reply.retry_after:g}"
    if dialect == "anthropic":
        status, kind, message = _ANTHROPIC_ERRORS.get(
            reply.error, _ANTHROPIC_ERRORS["server_error"]
        )
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": kind, "message": reply.message or message},
            "request_id": "req_fake",
        }
        headers["request-id"] = "req_fake"
    else:
        status, kind, code, message = _OPENAI_ERRORS.get(
            reply.error, _OPENAI_ERRORS["server_error"]
        )
        body = {
            "error": {
                "message": (reply.message or message).replace("{key}", sent_key),
                "type": kind,
                "param": None,
                "code": code,
            }
        }
        headers["x-request-id"] = "req_fake"
    return reply.status or status, body, headers


# ---------------------------------------------------------------------------------------------
# Stream rendering: each dialect yields (event name or None, JSON payload or raw data string).
# ---------------------------------------------------------------------------------------------
SSE = tuple[str | None, Any]
PAUSE: SSE = ("__pause__", None)  # between two paced events


def _split(text_value: str, parts: int = 3) -> list[str]:
    if not text_value:
        return []
    size = max(1, -(-len(text_value) // parts))
    return [text_value[i : i + size] for i in range(0, len(text_value), size)]


def _call_id(call: ScriptedToolCall, index: int, prefix: str) -> str:
    return call.id or f"{prefix}_fake_{index}"


class _Stop(Exception):
    """Stop rendering here (used for disconnects and in-stream errors)."""


def _anthropic_stream(reply: Reply, model: str) -> Iterator[SSE]:
    input_tokens, output_tokens = reply.usage
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        },
    )
    yield "ping", {"type": "ping"}
    index = 0
    if reply.reasoning:
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        )
        for piece in reply.reasoning:
            yield PAUSE
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "thinking_delta", "thinking": piece},
                },
            )
        yield (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "signature_delta", "signature": "sig_fake"},
            },
        )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
        index += 1
    if reply.tokens:
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        )
        for n, token in enumerate(reply.tokens):
            if reply.kind in ("disconnect", "stream_error") and n == reply.after_tokens:
                yield from _anthropic_abort(reply)
            yield PAUSE
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": token},
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
        index += 1
    for n, call in enumerate(reply.tool_calls):
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {
                    "type": "tool_use",
                    "id": _call_id(call, n, "toolu"),
                    "name": call.name,
                    "input": {},
                },
            },
        )
        for piece in _split(call.arguments_json):
            yield PAUSE
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
        index += 1
    stop_reason = {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "content_filter": "refusal",
    }[reply.finish_kind]
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _anthropic_abort(reply: Reply) -> Iterator[SSE]:
    if reply.kind == "stream_error":
        _, kind, message = _ANTHROPIC_ERRORS.get(reply.error, _ANTHROPIC_ERRORS["overloaded"])
        yield "error", {"type": "error", "error": {"type": kind, "message": message}}
    raise _Stop


def _chat_chunk(
    model: str,
    delta: dict[str, Any] | None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
) -> SSE:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return None, chunk


def _chat_stream(reply: Reply, model: str, include_usage: bool) -> Iterator[SSE]:
    yield _chat_chunk(model, {"role": "assistant", "content": ""})
    for piece in reply.reasoning:
        yield PAUSE
        yield _chat_chunk(model, {"reasoning_content": piece})
    for n, token in enumerate(reply.tokens):
        if reply.kind in ("disconnect", "stream_error") and n == reply.after_tokens:
            if reply.kind == "stream_error":
                _, kind, code, message = _OPENAI_ERRORS.get(
                    reply.error, _OPENAI_ERRORS["overloaded"]
                )
                yield (
                    None,
                    {"error": {"message": message, "type": kind, "param": None, "code": code}},
                )
            raise _Stop
        yield PAUSE
        yield _chat_chunk(model, {"content": token})
    for n, call in enumerate(reply.tool_calls):
        yield PAUSE
        yield _chat_chunk(
            model,
            {
                "tool_calls": [
                    {
                        "index": n,
                        "id": _call_id(call, n, "call"),
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            },
        )
        for piece in _split(call.arguments_json):
            yield PAUSE
            yield _chat_chunk(
                model, {"tool_calls": [{"index": n, "function": {"arguments": piece}}]}
            )
    yield _chat_chunk(model, {}, finish=reply.finish_kind)
    if include_usage:
        input_tokens, output_tokens = reply.usage
        yield _chat_chunk(
            model,
            None,
            usage={
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
        )
    yield None, "[DONE]"


def _responses_usage(reply: Reply) -> dict[str, Any]:
    input_tokens, output_tokens = reply.usage
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }


def _responses_output(reply: Reply) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if reply.reasoning:
        output.append(
            {
                "type": "reasoning",
                "id": "rs_fake",
                "summary": [{"type": "summary_text", "text": "".join(reply.reasoning)}],
            }
        )
    if reply.tokens:
        output.append(
            {
                "type": "message",
                "id": "msg_fake",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {
                        "type": "output_text",
                        "text": "".join(reply.tokens),
                        "annotations": [],
                        "logprobs": [],
                    }
                ],
            }
        )
    for n, call in enumerate(reply.tool_calls):
        output.append(
            {
                "type": "function_call",
                "id": f"fc_fake_{n}",
                "call_id": _call_id(call, n, "call"),
                "name": call.name,
                "arguments": call.arguments_json,
                "status": "completed",
            }
        )
    return output


def _response_object(
    reply: Reply, model: str, status: str, output: list[dict[str, Any]], usage: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1_700_000_000,
        "model": model,
        "status": status,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
    }
    if status == "incomplete":
        body["incomplete_details"] = {
            "reason": "content_filter"
            if reply.finish_kind == "content_filter"
            else "max_output_tokens"
        }
    if usage:
        body["usage"] = _responses_usage(reply)
    return body


def _responses_stream(reply: Reply, model: str) -> Iterator[SSE]:
    seq = iter(range(1_000_000))

    def event(kind: str, **payload: Any) -> SSE:
        return kind, {"type": kind, "sequence_number": next(seq), **payload}

    yield event(
        "response.created", response=_response_object(reply, model, "in_progress", [], False)
    )
    yield event(
        "response.in_progress", response=_response_object(reply, model, "in_progress", [], False)
    )
    output_index = 0
    if reply.reasoning:
        item = {"type": "reasoning", "id": "rs_fake", "summary": []}
        yield event("response.output_item.added", output_index=output_index, item=item)
        for piece in reply.reasoning:
            yield PAUSE
            yield event(
                "response.reasoning_summary_text.delta",
                item_id="rs_fake",
                output_index=output_index,
                summary_index=0,
                delta=piece,
            )
        yield event(
            "response.output_item.done",
            output_index=output_index,
            item={**item, "summary": [{"type": "summary_text", "text": "".join(reply.reasoning)}]},
        )
        output_index += 1
    if reply.tokens:
        item = {
            "type": "message",
            "id": "msg_fake",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        yield event("response.output_item.added", output_index=output_index, item=item)
        yield event(
            "response.content_part.added",
            item_id="msg_fake",
            output_index=output_index,
            content_index=0,
            part={"type": "output_text", "text": "", "annotations": []},
        )
        for n, token in enumerate(reply.tokens):
            if reply.kind in ("disconnect", "stream_error") and n == reply.after_tokens:
                if reply.kind == "stream_error":
                    _, _kind, code, message = _OPENAI_ERRORS.get(
                        reply.error, _OPENAI_ERRORS["overloaded"]
                    )
                    yield event("error", code=code or "server_error", message=message, param=None)
                raise _Stop
            yield PAUSE
            yield event(
                "response.output_text.delta",
                item_id="msg_fake",
                output_index=output_index,
                content_index=0,
                delta=token,
                logprobs=[],
            )
        full = "".join(reply.tokens)
        yield event(
            "response.output_text.done",
            item_id="msg_fake",
            output_index=output_index,
            content_index=0,
            text=full,
            logprobs=[],
        )
        yield event(
            "response.output_item.done",
            output_index=output_index,
            item={
                **item,
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": full, "annotations": [], "logprobs": []}
                ],
            },
        )
        output_index += 1
    for n, call in enumerate(reply.tool_calls):
        item_id = f"fc_fake_{n}"
        item = {
            "type": "function_call",
            "id": item_id,
            "call_id": _call_id(call, n, "call"),
            "name": call.name,
            "arguments": "",
            "status": "in_progress",
        }
        yield event("response.output_item.added", output_index=output_index, item=item)
        for piece in _split(call.arguments_json):
            yield PAUSE
            yield event(
                "response.function_call_arguments.delta",
                item_id=item_id,
                output_index=output_index,
                delta=piece,
            )
        yield event(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=output_index,
            arguments=call.arguments_json,
        )
        yield event(
            "response.output_item.done",
            output_index=output_index,
            item={**item, "arguments": call.arguments_json, "status": "completed"},
        )
        output_index += 1
    status = "incomplete" if reply.finish_kind in ("length", "content_filter") else "completed"
    yield event(
        f"response.{status}",
        response=_response_object(reply, model, status, _responses_output(reply), True),
    )


def _non_stream_body(dialect: Dialect, reply: Reply, model: str) -> dict[str, Any]:
    input_tokens, output_tokens = reply.usage
    full = "".join(reply.tokens)
    if dialect == "anthropic":
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            content.append(
                {"type": "thinking", "thinking": "".join(reply.reasoning), "signature": "sig_fake"}
            )
        if full:
            content.append({"type": "text", "text": full})
        for n, call in enumerate(reply.tool_calls):
            content.append(
                {
                    "type": "tool_use",
                    "id": _call_id(call, n, "toolu"),
                    "name": call.name,
                    "input": json.loads(call.arguments_json),
                }
            )
        return {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": {
                "stop": "end_turn",
                "length": "max_tokens",
                "tool_calls": "tool_use",
                "content_filter": "refusal",
            }[reply.finish_kind],
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
    if dialect == "openai_chat":
        message: dict[str, Any] = {"role": "assistant", "content": full or None, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(call, n, "call"),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for n, call in enumerate(reply.tool_calls)
            ]
        if reply.reasoning:
            message["reasoning_content"] = "".join(reply.reasoning)
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.finish_kind,
                }
            ],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
        }
    status = "incomplete" if reply.finish_kind in ("length", "content_filter") else "completed"
    return _response_object(reply, model, status, _responses_output(reply), True)


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------
class ClientGone(Exception):
    """The client closed the connection."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or the raw text if it was not JSON

    @property
    def dialect(self) -> Dialect | None:
        return _dialect(self.path)


@dataclass(frozen=True)
class Disconnect:
    path: str
    events_sent: int  # stream events written before the client went away
    at: float = field(default_factory=time.monotonic)


def _dialect(path: str) -> Dialect | None:
    path = path.split("?", 1)[0].rstrip("/")
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/chat/completions"):
        return "openai_chat"
    if path.endswith("/responses"):
        return "openai_responses"
    return None


class FakeLLMServer:
    """A threaded HTTP server; each connection is served by its own thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_delay: float = 0.0,
        default_reply: Reply | None = None,
    ) -> None:
        self.token_delay = token_delay
        # Answer to requests when the queue is empty. None: a 500 that says so.
        self.default_reply = default_reply if default_reply is not None else text()
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[Disconnect] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for Anthropic (the SDK appends /v1/messages)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """Base URL for OpenAI and compatible clients (they append /chat/completions etc.)."""
        return f"{self.url}/v1"

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends hangs and paced streams
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ----------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        """Answers for the next requests, in order (a reply with `path` waits for its path)."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            for i, reply in enumerate(self._queue):
                if reply.path is None or path.split("?", 1)[0].endswith(reply.path):
                    return self._queue.pop(i)
        return self.default_reply

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _record_disconnect(self, path: str, events_sent: int) -> None:
        with self._changed:
            self.disconnects.append(Disconnect(path, events_sent))
            self._changed.notify_all()

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """True once the server has seen a client hang up in the middle of a response."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self.disconnects:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # -- settings for the provider layer --------------------------------------------------------
    def settings(
        self,
        order: Sequence[str] = ("anthropic", "openai", "compatible"),
        *,
        timeout: float = 5.0,
        max_retries: int = 0,
    ) -> dict[str, Any]:
        """Keyword arguments for `override_settings` that point every provider at this server."""
        models = {
            "anthropic": "claude-fake",
            "openai": "gpt-fake",
            "openai_chat": "gpt-fake",
            "compatible": "local-fake",
        }
        return {
            "ANTHROPIC_API_KEY": "sk-ant-test-fake",
            "ANTHROPIC_BASE_URL": self.url,
            "OPENAI_API_KEY": "sk-openai-test-fake",
            "OPENAI_BASE_URL": self.openai_url,
            "AI_COMPATIBLE_BASE_URL": self.openai_url,
            "AI_COMPATIBLE_API_KEY": None,
            "AI_PROVIDER_ORDER": list(order),
            "AI_MODEL_CHAT": dict(models),
            "AI_MODEL_SQL": dict(models),
            "AI_REQUEST_TIMEOUT_SECONDS": timeout,
            "AI_MAX_RETRIES": max_retries,
        }

    # -- helpers for the handler ----------------------------------------------------------------
    def pause(self, sock: socket.socket, seconds: float) -> None:
        """Wait, noticing a client that hangs up (EOF on the socket) or the server stopping."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stopping.is_set():
                raise ClientGone
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([sock], [], [], max(0.0, min(remaining, 0.05)))
            if readable:
                try:
                    peeked = sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    raise ClientGone from None
                if not peeked:
                    raise ClientGone
                # Bytes of a next request on a kept-alive connection: not ours to read here.
                time.sleep(max(0.0, min(remaining, 0.05)))
            if remaining <= 0:
                return


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeLLMServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not access logs

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record(RecordedRequest("POST", self.path, headers, body))
        dialect = _dialect(self.path)
        if dialect is None:
            self._send_json(404, {"error": {"message": f"no fake endpoint at {self.path}"}})
            return
        reply = fake._next_reply(self.path)
        if reply is None:
            self._send_json(500, {"error": {"message": "no scripted reply left"}})
            return
        params = body if isinstance(body, dict) else {}
        model = str(params.get("model") or "fake-model")
        sent_key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix(
            "Bearer "
        )
        try:
            self._answer(fake, dialect, reply, params, model, sent_key)
        except ClientGone:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            fake._record_disconnect(self.path, -1)

    def _answer(
        self,
        fake: FakeLLMServer,
        dialect: Dialect,
        reply: Reply,
        params: dict[str, Any],
        model: str,
        sent_key: str,
    ) -> None:
        if reply.kind == "error":
            status, body, headers = _error_response(dialect, reply, sent_key)
            self._send_json(status, body, headers)
            return
        if reply.kind == "hang" and not reply.after_headers:
            try:
                fake.pause(self.connection, reply.seconds)
            except ClientGone:
                fake._record_disconnect(self.path, 0)
                raise
            self.close_connection = True
            return
        if reply.headers_delay > 0:
            try:
                fake.pause(self.connection, reply.headers_delay)
            except ClientGone:
                fake._record_disconnect(self.path, 0)
                raise
        if not params.get("stream"):
            self._send_json(200, _non_stream_body(dialect, reply, model))
            return
        if dialect == "anthropic":
            events = _anthropic_stream(reply, model)
        elif dialect == "openai_chat":
            include_usage = bool((params.get("stream_options") or {}).get("include_usage"))
            events = _chat_stream(reply, model, include_usage)
        else:
            events = _responses_stream(reply, model)
        self._stream(fake, reply, events)

    def _stream(self, fake: FakeLLMServer, reply: Reply, events: Iterator[SSE]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        delay = fake.token_delay if reply.delay is None else reply.delay
        sent = 0
        try:
            for name, payload in events:
                if name == PAUSE[0]:
                    if delay > 0:
                        fake.pause(self.connection, delay)
                    continue
                self._chunk(_sse(name, payload))
                sent += 1
                if reply.kind == "hang" and reply.after_headers:
                    fake.pause(self.connection, reply.seconds)
                    self._drop()
                    return
        except _Stop:
            if reply.kind == "disconnect":
                self._drop()
                return
        except ClientGone:
            fake._record_disconnect(self.path, sent)
            raise
        except (BrokenPipeError, ConnectionResetError):
            fake._record_disconnect(self.path, sent)
            raise ClientGone from None
        self._chunk(b"")  # the terminating zero-length chunk

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection in the middle of the body, as a crashing proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _sse(name: str | None, payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode()
