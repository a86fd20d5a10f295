"""Ending sessions: every session is also the home of that device's refresh tokens, and access
tokens are validated against it, so ending a session revokes the device's tokens at once."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from accounts.signals import SecurityAction, emit_security_event

logger = logging.getLogger(__name__)


def _store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def sessions_end_for_user(
    *,
    user: Any,
    keep_session_key: str | None = None,
    reason: str,
    request: HttpRequest | None = None,
) -> int:
    """End every session of `user` except `keep_session_key`; returns how many ended."""
    store = _store()
    ended = 0
    for user_session in UserSession.objects.filter(user_id=user.pk).exclude(
        session_key=keep_session_key or ""
    ):
        store().delete(user_session.session_key)
        user_session.delete()
        ended += 1
    if ended:
        emit_security_event(
            user=user,
            action=SecurityAction.SESSIONS_REVOKED,
            request=request,
            metadata={"count": ended, "reason": reason},
        )
    return ended


def sessions_purge_expired() -> int:
    """Delete expired sessions and the device records of sessions that no longer exist."""
    _store().clear_expired()
    purged = 0
    for user_session in UserSession.objects.all().iterator(chunk_size=500):
        if user_session.purge():
            purged += 1
    return purged


ACTIVITY_INTERVAL = timedelta(minutes=1)


def activity_record(*, user: Any, session_key: str | None, ip: str, user_agent: str) -> None:
    """Note that `user` was active now, at most once a minute per session.

    Keeps the guest purge (idle days) and the session list (last seen, IP) current for
    token-authenticated API calls, which the usersessions middleware does not see.
    """
    from django.contrib.auth import get_user_model

    gate = f"accounts:seen:{user.pk}:{session_key or '-'}"
    if not cache.add(gate, 1, timeout=int(ACTIVITY_INTERVAL.total_seconds())):
        return
    now = timezone.now()
    get_user_model().objects.filter(pk=user.pk).update(last_seen_at=now)
    if session_key:
        fields: dict[str, Any] = {"last_seen_at": now, "ip": ip}
        if user_agent:
            fields["user_agent"] = user_agent
        UserSession.objects.filter(session_key=session_key, user_id=user.pk).update(**fields)
