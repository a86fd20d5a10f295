"""ASGI entry point (gunicorn + uvicorn workers), wrapped in a body-size guard.

Server-Sent Events (AI streams, sync pokes) need ASGI: a WSGI worker would hold a thread per
open stream. The guard answers 413 as soon as a request declares, or streams, more than
MAX_REQUEST_BYTES, before Django reads (and spools) the body.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()


class BodyLimitASGI:
    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _reject(self, send: Any, headers: dict[bytes, bytes]) -> None:
        from core import context

        request_id = context.clean_request_id(
            headers.get(b"x-request-id", b"").decode("latin-1") or None
        )
        body = json.dumps(
            {
                "error": {
                    "code": "request_too_large",
                    "message": f"The request body is larger than the limit of {self.limit} bytes.",
                    "limit_bytes": self.limit,
                    "request_id": request_id,
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.limit
            except ValueError:
                too_big = False  # Django answers 400 for a malformed length
            if too_big:
                await self._reject(send, headers)
                return
            await self.app(scope, receive, send)
            return

        # No declared length (chunked): count as it arrives and stop at the limit.
        received = 0
        started = False

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        class _TooLarge(Exception):
            pass

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not started:
                await self._reject(send, headers)


def _build() -> Any:
    from django.conf import settings

    return BodyLimitASGI(django_application, settings.MAX_REQUEST_BYTES)


application = _build()
