from __future__ import annotations

import base64
from typing import Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, generate_totp_secret
from django.http import HttpRequest

from core.exceptions import Conflict


def totp_setup_qr_code(*, request: HttpRequest, user: Any) -> dict[str, str]:
    """The TOTP secret being set up, its otpauth:// URI and a QR code of it (SVG data URI).

    `request.session` must be the caller's allauth session: the secret is the one allauth's
    `GET …/account/authenticators/totp` hands out and its activation checks against.
    """
    if Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists():
        raise Conflict("Two-factor authentication is already active.", code="totp_active")
    if not user.email:
        raise Conflict("Verify an email address first.", code="email_required")
    secret = request.session.get(SECRET_SESSION_KEY)
    if not secret:
        secret = request.session[SECRET_SESSION_KEY] = generate_totp_secret()
    adapter = get_mfa_adapter()
    url = adapter.build_totp_url(user, secret)
    svg = adapter.build_totp_svg(url)
    data_uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return {"totp_url": url, "secret": secret, "qr_code": data_uri}
