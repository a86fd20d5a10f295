"""Signing a user in as the headless `app` client from our own endpoints (guests, desktop
OAuth handoff), with the same session, tokens and signals as allauth's app login."""

from __future__ import annotations

from typing import Any

from allauth.account.internal.flows.login import perform_login, record_authentication
from allauth.account.models import Login
from allauth.headless.base.response import AuthenticationResponse
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from accounts.internal.headless import AppAuthResult, app_client_session, result_from_response


def app_login(
    *,
    request: HttpRequest,
    user: Any,
    method: str,
    email_verification: str | None = None,
    signup: bool = False,
    records: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> AppAuthResult:
    """Log `user` in on a new app-client session and return its tokens, or the pending stage
    (e.g. 2FA) when allauth's login stages stop the login.

    `records` carries authentication records over from another session (the browser that
    completed an OAuth sign-in); otherwise one record of `method` is written.
    """
    with app_client_session(request) as req:
        if records:
            for record in records:
                data = {k: v for k, v in record.items() if k not in {"method", "at"}}
                record_authentication(req, user, record["method"], **data)
        else:
            record_authentication(req, user, method, **extra)
        login = Login(
            user=user,
            email_verification=email_verification,
            signup=signup,
        )
        response = perform_login(req, login)
        response = AuthenticationResponse.from_response(req, response)
    return result_from_response(response)


def app_adopt_session(*, request: HttpRequest, session: SessionBase) -> AppAuthResult:
    """Describe an existing (pending) session as the app client sees it; its key becomes the
    session token the app continues with on /_allauth/app/v1/... ."""
    with app_client_session(request, session=session) as req:
        response = AuthenticationResponse(req)
    result = result_from_response(response)
    result.session_token = session.session_key
    return result
