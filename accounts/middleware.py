from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ActivityMiddleware:
    """Records when an authenticated caller was last active (throttled), whichever of the
    three credentials it used; DRF puts the user it authenticated on the Django request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and response.status_code < 500:
            self._record(request, user)
        return response

    def _record(self, request: HttpRequest, user: object) -> None:
        from allauth.headless.tokens.strategies.jwt.internal import session_key_from_sid
        from django.contrib.sessions.backends.base import SessionBase

        from accounts.internal.http import client_ip, user_agent
        from accounts.services.sessions import activity_record

        auth = getattr(request, "auth", None)
        session_key: str | None = None
        if isinstance(auth, SessionBase):
            session_key = auth.session_key
        elif isinstance(auth, dict) and isinstance(auth.get("sid"), str):
            session_key = session_key_from_sid(auth["sid"])
        else:
            # Cookie sessions: allauth's UserSessionsMiddleware tracks those itself.
            session_key = None
        activity_record(
            user=user,
            session_key=session_key,
            ip=client_ip(request),
            user_agent=user_agent(request),
        )
