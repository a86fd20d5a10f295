"""Server-Sent Events: framing and the response headers every stream needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from django.http import StreamingHttpResponse

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}

PING = b": ping\n\n"


def event(data: Any, *, event: str | None = None, id: str | None = None) -> bytes:
    """One SSE event. `data` that is not a str is sent as compact JSON on one line."""
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    for line in payload.split("\n"):
        lines.append(f"data: {line}")
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


def stream_response(
    chunks: AsyncIterator[bytes], *, headers: dict[str, str] | None = None
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    for key, value in {**SSE_HEADERS, **(headers or {})}.items():
        response[key] = value
    return response
