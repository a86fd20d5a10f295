"""GET events: Server-Sent Events pokes ("pull now") for one member of one workspace.

A plain `async def` view: authentication and the membership check run once, in a worker
thread, before streaming; the streaming loop only waits on Redis pub/sub and the heartbeat
clock (no ORM in it). Pokes are published by core.versioning after each commit.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.settings import api_settings

from core import sse
from core.api.errors import error_response
from core.exceptions import ApplicationError
from core.models import WorkspaceClock
from core.versioning import poke_channel
from sync.api.views import PROTOCOL_HEADER, SUPPORTED_PROTOCOLS, protocol_error
from workspaces.api.base import resolve_membership


def _authorize(request: HttpRequest, workspace_id: uuid.UUID) -> tuple[str, int]:
    """(user id, current workspace version) for a member; ApplicationError otherwise."""
    drf_request = Request(
        request,
        authenticators=[cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES],  # type: ignore[operator]  # DRF's settings are typed as str
    )
    try:
        user = drf_request.user
    except Exception:
        user = None
    if user is None or not user.is_authenticated:
        raise ApplicationError(
            "Authentication credentials were not provided or are invalid.",
            code="not_authenticated",
            status=401,
        )
    with transaction.atomic():
        resolve_membership(user=user, workspace_id=workspace_id)  # 404 for outsiders
        version = (
            WorkspaceClock.objects.filter(workspace_id=workspace_id)
            .values_list("version", flat=True)
            .first()
            or 0
        )
    return str(user.pk), int(version)


async def sync_events(
    request: HttpRequest, workspace_id: uuid.UUID
) -> HttpResponse | StreamingHttpResponse:
    # EventSource cannot send headers: the protocol may also come as ?protocol=1.
    version = request.headers.get(PROTOCOL_HEADER) or request.GET.get("protocol")
    if version not in SUPPORTED_PROTOCOLS:
        error = protocol_error(version)
        return error_response(error.status_code, error.code, error.message, extra=error.extra)
    try:
        user_id, current = await sync_to_async(_authorize)(request, workspace_id)
    except ApplicationError as error:
        return error_response(error.status_code, error.code, error.message, extra=error.extra)
    return sse.stream_response(_pokes(workspace_id, user_id, current))


async def _pokes(workspace_id: uuid.UUID, user_id: str, current: int) -> AsyncIterator[bytes]:
    client: Any = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(poke_channel(workspace_id))
        # Subscribed before this first poke: whatever committed since the version was read is
        # either announced below or already visible to the pull this poke triggers.
        yield sse.event({"version": current}, event="poke")
        loop = asyncio.get_running_loop()
        ping_every = float(settings.SYNC_EVENTS_PING_SECONDS)
        ends_at = loop.time() + settings.SYNC_EVENTS_MAX_SECONDS
        next_ping = loop.time() + ping_every
        while (now := loop.time()) < ends_at:
            wait = max(0.0, min(next_ping, ends_at) - now)
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            if message is not None and message.get("type") == "message":
                poke = _poke_for(message.get("data"), user_id)
                if poke is not None:
                    yield sse.event({"version": poke}, event="poke")
            if loop.time() >= next_ping:
                yield sse.PING
                next_ping = loop.time() + ping_every
    finally:
        try:
            await pubsub.unsubscribe()
            await pubsub.aclose()
        finally:
            await client.aclose()


def _poke_for(data: Any, user_id: str) -> int | None:
    """The version to announce to `user_id`, or None when the change is not theirs to see."""
    try:
        payload = json.loads(data)
        users = payload.get("users")
        version = int(payload["version"])
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    if users is not None and user_id not in users:
        return None
    return version
