"""Sensitive workspace actions (delete, transfer) need a recent (re)authentication.

allauth records each authentication in the session that the browser cookie, the app's session
token or the JWT's session id points to; a fresh password or 2FA check at
`/_allauth/{client}/v1/auth/reauthenticate` (or `/auth/2fa/reauthenticate`) renews it for
ACCOUNT_REAUTHENTICATION_TIMEOUT seconds.
"""

from __future__ import annotations

from django.http import HttpRequest

from core.exceptions import ApplicationError


def require_recent_authentication(request: HttpRequest) -> None:
    from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate

    request = getattr(request, "_request", request)  # DRF Request -> Django HttpRequest
    session = getattr(request, "session", None)
    recent = False
    if session is not None:
        try:
            recent = did_recently_reauthenticate(request)
        except (KeyError, AttributeError):
            recent = False
    if not recent:
        raise ApplicationError(
            "Confirm it's you: reauthenticate, then try again.",
            code="reauthentication_required",
            status=401,
            extra={"flows": ["reauthenticate", "mfa_reauthenticate"]},
        )
