"""The ASGI guard answers 413 before Django reads a body, declared or chunked."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from config.asgi import BodyLimitASGI


class _App:
    def __init__(self) -> None:
        self.called = False
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _run(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[_App, list[Any], int]:
    app = _App()
    sent: list[Any] = []
    pulled = 0

    async def receive() -> Any:
        nonlocal pulled
        pulled += 1
        body = chunks[pulled - 1] if pulled <= len(chunks) else b""
        return {"type": "http.request", "body": body, "more_body": pulled < len(chunks)}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/x", "headers": headers}
    asyncio.run(BodyLimitASGI(app, limit=1000)(scope, receive, send))
    return app, sent, pulled


def test_declared_length_over_limit_is_refused_before_the_app_runs() -> None:
    app, sent, pulled = _run([(b"content-length", b"5000")], [b"x" * 5000])
    assert not app.called
    assert pulled == 0
    assert sent[0]["status"] == 413
    body = json.loads(sent[1]["body"])
    assert body["error"]["code"] == "request_too_large"


def test_chunked_body_is_cut_off_at_the_limit() -> None:
    chunks = [b"x" * 400] * 10  # 4000 bytes, no declared length
    _, sent, pulled = _run([], chunks)
    assert sent[0]["status"] == 413
    assert pulled == 3  # stopped reading at the chunk that crossed 1000 bytes


def test_small_bodies_pass() -> None:
    app, sent, _ = _run([(b"content-length", b"10")], [b"x" * 10])
    assert app.called
    assert app.read == 10
    assert sent[0]["status"] == 200
