"""Google/GitHub sign-in for the desktop app, through the system browser, with PKCE.

    app ── opens ──> GET /api/v1/auth/desktop/oauth/start?provider&code_challenge&redirect_to
                     (flow stored in Redis) ── allauth's provider redirect ──> Google/GitHub
    provider ──> allauth callback ──> GET /api/v1/auth/desktop/oauth/complete?flow=…
                     (one-time handoff code, 60 s, bound to the challenge, in Redis)
             ──> 302 {APP_DEEP_LINK_SCHEME}://auth/callback?code=…&state=…
    app ── POST /api/v1/auth/desktop/oauth/token {code, code_verifier} ──> app tokens

The handoff code is single-use (GETDEL) whatever the outcome, so a wrong verifier burns it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.stagekit import clear_login, get_pending_stage
from allauth.core.internal.httpkit import add_query_params
from allauth.headless.internal import sessionkit
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.internal.flows.signup import get_pending_signup
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.internal import redis as accounts_redis
from accounts.internal.headless import AppAuthResult
from accounts.services.app_auth import app_adopt_session, app_login
from core.exceptions import ApplicationError, NotFound

FLOW_TTL_SECONDS = 15 * 60
FLOW_COOKIE = "dbw_desktop_oauth"
FLOW_COOKIE_PATH = "/api/v1/auth/desktop/oauth/"
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(sha256), unpadded
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 section 4.1
_STATE_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


class HandoffError(ApplicationError):
    status_code = 400
    code = "invalid_handoff_code"


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def default_redirect() -> str:
    return f"{settings.APP_DEEP_LINK_SCHEME}://auth/callback"


def _validate_redirect(redirect_to: str | None) -> str:
    if not redirect_to:
        return default_redirect()
    parts = urlsplit(redirect_to)
    if parts.scheme.lower() != settings.APP_DEEP_LINK_SCHEME or parts.fragment:
        raise ApplicationError(
            f"redirect_to must be a {settings.APP_DEEP_LINK_SCHEME}:// deep link.",
            code="invalid_redirect",
            fields={"redirect_to": ["Not this app's deep link."]},
        )
    return redirect_to


class DeepLinkRedirect(HttpResponseRedirect):
    """A 302 to the desktop app's deep link (Django allows only http(s) and ftp by default)."""

    @property
    def allowed_schemes(self) -> list[str]:  # type: ignore[override]  # a property over Django's class attribute
        return [settings.APP_DEEP_LINK_SCHEME]


def _provider(request: HttpRequest, provider_id: str) -> Any:
    try:
        return get_social_adapter().get_provider(request, provider_id)
    except (SocialApp.DoesNotExist, ImproperlyConfigured):
        raise NotFound(
            f"Sign-in with {provider_id!r} is not available.", code="unknown_provider"
        ) from None


def desktop_oauth_start(
    *,
    request: HttpRequest,
    provider_id: str,
    code_challenge: str,
    code_challenge_method: str,
    redirect_to: str | None,
    state: str | None,
) -> HttpResponse:
    """Begin a provider sign-in in the system browser for the desktop app."""
    if code_challenge_method != "S256":
        raise ApplicationError(
            "Only the S256 code challenge method is supported.",
            code="invalid_code_challenge",
            fields={"code_challenge_method": ["Must be S256."]},
        )
    if not _CHALLENGE_RE.match(code_challenge):
        raise ApplicationError(
            "code_challenge must be the unpadded base64url SHA-256 of the code verifier.",
            code="invalid_code_challenge",
            fields={"code_challenge": ["Not a base64url SHA-256 digest."]},
        )
    if state is not None and not _STATE_RE.match(state):
        raise ApplicationError(
            "state must be 1-200 printable characters.",
            code="invalid_state",
            fields={"state": ["Invalid."]},
        )
    redirect = _validate_redirect(redirect_to)
    provider = _provider(request, provider_id)
    flow_id = secrets.token_urlsafe(24)
    user = getattr(request, "user", None)
    flow = {
        "provider": provider_id,
        "code_challenge": code_challenge,
        "redirect_to": redirect,
        "state": state,
        # Who this browser was signed in as before: after the handoff we leave it that way.
        "browser_user_id": str(user.pk) if user is not None and user.is_authenticated else None,
        "started_at": time.time(),
    }
    accounts_redis.client().set(
        accounts_redis.key("desktop-flow", flow_id), json.dumps(flow), ex=FLOW_TTL_SECONDS
    )
    next_url = reverse("accounts:desktop-oauth-complete") + "?flow=" + flow_id
    response: HttpResponse = provider.redirect(
        request, AuthProcess.LOGIN, next_url=next_url, headless=True
    )
    # Only the browser that started a flow may complete it (the session may be flushed by
    # allauth on the way, a cookie of its own survives).
    response.set_cookie(
        FLOW_COOKIE,
        flow_id,
        max_age=FLOW_TTL_SECONDS,
        path=FLOW_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _deep_link(flow: dict[str, Any], params: dict[str, str]) -> HttpResponseRedirect:
    if flow.get("state"):
        params = {**params, "state": flow["state"]}
    response = DeepLinkRedirect(add_query_params(flow["redirect_to"], params))
    response.delete_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH)
    return response


def _store_handoff(payload: dict[str, Any]) -> str:
    code = secrets.token_urlsafe(32)
    accounts_redis.client().set(
        accounts_redis.key("handoff", hashlib.sha256(code.encode()).hexdigest()),
        json.dumps(payload),
        ex=settings.DESKTOP_OAUTH_HANDOFF_TTL_SECONDS,
    )
    return code


def desktop_oauth_complete(
    *, request: HttpRequest, flow_id: str, error: str | None
) -> HttpResponse:
    """Back from allauth's callback in the system browser: hand the result to the app."""
    if not flow_id or not secrets.compare_digest(request.COOKIES.get(FLOW_COOKIE, ""), flow_id):
        raise ApplicationError(
            "This sign-in was started in another browser. Start again from the app.",
            code="invalid_flow",
        )
    raw = accounts_redis.client().getdel(accounts_redis.key("desktop-flow", flow_id))
    if raw is None:
        raise ApplicationError(
            "This sign-in link has expired or was already used. Start again from the app.",
            code="invalid_flow",
        )
    flow = json.loads(raw)
    if error:
        return _deep_link(flow, {"error": error})

    user = request.user
    if user.is_authenticated:
        payload = {
            "kind": "user",
            "user_id": str(user.pk),
            "records": get_authentication_records(request, user),
            "code_challenge": flow["code_challenge"],
        }
        code = _store_handoff(payload)
        if flow.get("browser_user_id") != str(user.pk):
            # The browser was not signed in as this user before: leave no session behind.
            from allauth.account.adapter import get_adapter

            get_adapter(request).logout(request)
        return _deep_link(flow, {"code": code})

    if get_pending_stage(request) is not None or get_pending_signup(request) is not None:
        # 2FA, email verification or a provider signup is still due: move that pending login to
        # a fresh session the app continues with its session token; the browser keeps nothing.
        pending = sessionkit.new_session()
        for key, value in request.session.items():
            pending[key] = value
        pending.save()
        clear_login(request)
        request.session.pop("socialaccount_sociallogin", None)
        code = _store_handoff(
            {
                "kind": "session",
                "session_key": pending.session_key,
                "code_challenge": flow["code_challenge"],
            }
        )
        return _deep_link(flow, {"code": code})

    return _deep_link(flow, {"error": "unknown"})


@dataclass
class HandoffResult:
    auth: AppAuthResult
    user: Any | None


def desktop_oauth_token(*, request: HttpRequest, code: str, code_verifier: str) -> HandoffResult:
    """Exchange a handoff code and its PKCE verifier for app tokens (or a pending stage)."""
    raw = accounts_redis.client().getdel(
        accounts_redis.key("handoff", hashlib.sha256(code.encode()).hexdigest())
    )
    if raw is None:
        raise HandoffError("The code is invalid, expired or already used.")
    payload = json.loads(raw)
    if not _VERIFIER_RE.match(code_verifier) or not secrets.compare_digest(
        pkce_challenge(code_verifier), payload["code_challenge"]
    ):
        raise HandoffError(
            "The code verifier does not match the code challenge.", code="invalid_code_verifier"
        )
    if payload["kind"] == "session":
        session = sessionkit.lookup_session(payload["session_key"])
        if session is None:
            raise HandoffError("The sign-in expired. Start again from the app.")
        return HandoffResult(auth=app_adopt_session(request=request, session=session), user=None)

    user = get_user_model().objects.filter(pk=payload["user_id"], is_active=True).first()
    if user is None:
        raise HandoffError("The code is invalid, expired or already used.")
    result = app_login(
        request=request, user=user, method="socialaccount", records=payload.get("records")
    )
    return HandoffResult(auth=result, user=user)
