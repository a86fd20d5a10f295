"""Bridges between our DRF endpoints and allauth's headless machinery.

allauth keeps an app client's whole state (login stages, pending verification codes, the
refresh tokens it issued, reauthentication records) in the Django session its session token or
access token points to. A DRF view authenticated by a bearer token sees the (empty) cookie
session instead; these helpers give allauth code the right one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from allauth.headless.constants import Client
from allauth.headless.internal import sessionkit
from allauth.headless.internal.decorators import mark_request_as_headless
from allauth.headless.tokens.strategies.jwt.internal import session_key_from_sid
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request

from core.exceptions import ApplicationError


def session_key_of(request: Request) -> str | None:
    """The session key behind the credentials of an authenticated DRF request."""
    auth = request.auth
    if isinstance(auth, SessionBase):  # X-Session-Token
        return auth.session_key
    if isinstance(auth, dict) and isinstance(auth.get("sid"), str):  # JWT access token
        return session_key_from_sid(auth["sid"])
    return request._request.session.session_key  # browser cookie


def _session_of(request: Request) -> SessionBase:
    auth = request.auth
    if isinstance(auth, SessionBase):
        return auth
    if isinstance(auth, dict):
        key = session_key_of(request)
        session = sessionkit.lookup_session(key) if key else None
        if session is None:
            raise ApplicationError(
                "Your session has ended. Sign in again.", code="session_expired", status=401
            )
        return session
    return request._request.session


@contextmanager
def caller_session(request: Request) -> Iterator[HttpRequest]:
    """Yield the Django request with `session` set to the caller's allauth session (token or
    cookie) and `user` to the caller; the session is saved on the way out when changed."""
    django_request = request._request
    session = _session_of(request)
    old_session = django_request.session
    old_user = django_request.user
    django_request.session = session
    django_request.user = request.user
    try:
        yield django_request
    finally:
        if session is not old_session and session.modified and not session.is_empty():
            session.save()
        django_request.session = old_session
        django_request.user = old_user


@dataclass
class AppAuthResult:
    """allauth's answer to an app-client authentication, in our terms."""

    is_authenticated: bool
    session_token: str | None
    access_token: str | None = None
    refresh_token: str | None = None
    user_id: str | None = None
    pending_flow: str | None = None
    flows: list[dict[str, Any]] = field(default_factory=list)


def result_from_response(response: HttpResponseBase) -> AppAuthResult:
    """Read allauth's documented app-client authentication response."""
    body = json.loads(response.content)  # type: ignore[attr-defined]  # an HttpResponse in practice
    meta = body.get("meta") or {}
    data = body.get("data") or {}
    flows = data.get("flows") or []
    pending = next((f["id"] for f in flows if f.get("is_pending")), None)
    user = data.get("user") or {}
    return AppAuthResult(
        is_authenticated=bool(meta.get("is_authenticated")),
        session_token=meta.get("session_token"),
        access_token=meta.get("access_token"),
        refresh_token=meta.get("refresh_token"),
        user_id=user.get("id"),
        pending_flow=pending,
        flows=flows,
    )


@contextmanager
def app_client_session(
    request: HttpRequest, session: SessionBase | None = None
) -> Iterator[HttpRequest]:
    """Run allauth code as the headless `app` client on a fresh (or the given) session.

    Tokens allauth exposes in responses built inside are bound to that session, exactly as on
    /_allauth/app/v1/auth/login. The caller's own session and user are restored afterwards.
    """
    old_session, old_user = request.session, request.user
    allauth_ns = request.allauth  # type: ignore[attr-defined]  # set by allauth middleware
    old_headless = getattr(allauth_ns, "headless", None)
    mark_request_as_headless(request, Client.APP)
    request.session = session if session is not None else sessionkit.new_session()
    request.user = AnonymousUser()
    allauth_ns.headless._pre_user = request.user
    try:
        yield request
    finally:
        if request.session.modified and not request.session.is_empty():
            request.session.save()
        request.session, request.user = old_session, old_user
        if old_headless is None:
            del allauth_ns.headless
        else:
            allauth_ns.headless = old_headless
        # Logging in rotates the CSRF token; this request's cookie must not change.
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False
