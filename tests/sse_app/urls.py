from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import include, path

from core import sse


async def two_events(request: HttpRequest) -> StreamingHttpResponse:
    """Sends `first`, then waits for the client to say it has read it, then sends `last`."""
    gate = request.GET["gate"]

    async def body():  # type: ignore[no-untyped-def]
        yield sse.event({"n": 1}, event="first")
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            for _ in range(200):
                if await client.get(gate):
                    break
                await asyncio.sleep(0.05)
            produced_last = await client.get(gate) is not None
        finally:
            await client.aclose()
        yield sse.event({"n": 2, "after_gate": produced_last}, event="last")

    return sse.stream_response(body())


urlpatterns = [
    path("test-sse", two_events),
    path("", include("config.urls")),
]
