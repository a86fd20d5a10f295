from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.models import UserSession
from django.utils import timezone

from accounts.hooks import export_sections
from accounts.models import SignInDevice


def mfa_types(user: Any) -> list[str]:
    return sorted(set(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True)))


def user_profile(user: Any) -> dict[str, Any]:
    primary = EmailAddress.objects.filter(user_id=user.pk, primary=True).first()
    types = mfa_types(user)
    return {
        "id": user.pk,
        "email": user.email,
        "email_verified": bool(primary and primary.verified),
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "is_guest": user.is_guest,
        "has_usable_password": user.has_usable_password(),
        "mfa_enabled": bool(set(types) & {Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN}),
        "created_at": user.created_at,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def user_export(user: Any) -> dict[str, Any]:
    """Everything we hold about the user, as JSON: accounts' own tables plus every section
    other apps registered (accounts.hooks.register_export_section). No secrets: password
    hashes, TOTP secrets, recovery codes and tokens are left out."""
    return {
        "exported_at": timezone.now().isoformat(),
        "user": {
            "id": str(user.pk),
            "email": user.email,
            "display_name": user.display_name,
            "avatar_url": user.avatar_url,
            "is_guest": user.is_guest,
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.updated_at),
            "last_login": _iso(user.last_login),
            "last_seen_at": _iso(user.last_seen_at),
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user_id=user.pk).order_by("id")
        ],
        "social_accounts": [
            {
                "provider": a.provider,
                "uid": a.uid,
                "date_joined": _iso(a.date_joined),
                "last_login": _iso(a.last_login),
            }
            for a in SocialAccount.objects.filter(user_id=user.pk).order_by("id")
        ],
        "mfa": [
            {
                "type": a.type,
                "created_at": _iso(a.created_at),
                "last_used_at": _iso(a.last_used_at),
            }
            for a in Authenticator.objects.filter(user_id=user.pk).order_by("id")
        ],
        "sessions": [
            {
                "ip": s.ip,
                "user_agent": s.user_agent,
                "created_at": _iso(s.created_at),
                "last_seen_at": _iso(s.last_seen_at),
            }
            for s in UserSession.objects.filter(user_id=user.pk).order_by("created_at")
        ],
        "devices": [
            {
                "user_agent": d.user_agent,
                "last_ip": d.last_ip,
                "first_seen_at": _iso(d.first_seen_at),
                "last_seen_at": _iso(d.last_seen_at),
            }
            for d in SignInDevice.objects.filter(user_id=user.pk).order_by("first_seen_at")
        ],
        **export_sections(user),
    }
