"""Recent reauthentication, for any DRF view (bearer token, session token or cookie)."""

from __future__ import annotations

from rest_framework.request import Request

from accounts.internal.headless import caller_session
from accounts.services.account import ReauthenticationRequired, require_recent_reauthentication


def require_reauthentication(request: Request) -> None:
    """Raise ReauthenticationRequired (401 `reauthentication_required`, with `flows`) unless the
    caller passed allauth's reauthentication (`POST /_allauth/{client}/v1/auth/reauthenticate`
    or `auth/2fa/reauthenticate`) within ACCOUNT_REAUTHENTICATION_TIMEOUT seconds. It looks in
    the session the caller's credentials point to, whichever kind they are."""
    with caller_session(request) as django_request:
        require_recent_reauthentication(request=django_request)


__all__ = ["ReauthenticationRequired", "require_reauthentication"]
