"""allauth adapters: where allauth asks the project how to behave."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.headless.adapter import DefaultHeadlessAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest

from accounts.internal.http import client_ip
from accounts.mailer import base_context, mail_enqueue


def user_display(user: Any) -> str:
    return str(user.display_name or user.email or "Guest")


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render now (the code or link is only known here), send from a Celery task."""
        ctx = {
            "request": self.request,
            "email": email,
            "current_site": None,
            **base_context(),
            **context,
        }
        mail_enqueue(self.render_mail(template_prefix, email, ctx))

    def send_confirmation_mail(
        self, request: HttpRequest, emailconfirmation: Any, signup: bool
    ) -> None:
        """The code for the app client; browsers may use the link in the same message."""
        ctx: dict[str, Any] = {"user": emailconfirmation.email_address.user}
        ctx["code"] = emailconfirmation.key
        address = emailconfirmation.email_address
        if isinstance(address, EmailAddress) and address.pk and not address.verified:
            key = EmailConfirmationHMAC(address).key
            ctx["activate_url"] = settings.HEADLESS_FRONTEND_URLS["account_confirm_email"].format(
                key=key
            )
        template = (
            "account/email/email_confirmation_signup"
            if signup
            else "account/email/email_confirmation"
        )
        self.send_mail(template, address.email, ctx)

    def get_client_ip(self, request: HttpRequest) -> str:
        # One rule for the whole service (CLIENT_IP_HEADER, e.g. Fly-Client-IP, only when the
        # deployment says a proxy sets it): rate limits, session lists and audit events agree.
        return client_ip(request)

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True


class HeadlessAdapter(DefaultHeadlessAdapter):
    """Adds our profile fields to allauth's user payload (and to its OpenAPI spec)."""

    def get_user_dataclass(self) -> Any:
        # untyped_calls_exclude (pyproject) does not reach a call through super().
        base = super().get_user_dataclass()  # type: ignore[no-untyped-call]  # allauth: unannotated
        extra = [
            (
                "display_name",
                str,
                dataclasses.field(
                    default="", metadata={"description": "Display name.", "example": "Ada"}
                ),
            ),
            (
                "avatar_url",
                Optional[str],  # noqa: UP045 - dataclasses.make_dataclass needs a runtime type
                dataclasses.field(
                    default=None,
                    metadata={"description": "Avatar URL.", "example": "https://…/a.png"},
                ),
            ),
            (
                "is_guest",
                bool,
                dataclasses.field(
                    default=False,
                    metadata={"description": "A guest has no email yet.", "example": False},
                ),
            ),
        ]
        return dataclasses.make_dataclass("User", extra, bases=(base,))

    def user_as_dataclass(self, user: Any) -> Any:
        # The base builds an instance of get_user_dataclass() (ours) with default extras.
        return dataclasses.replace(
            super().user_as_dataclass(user),
            display_name=user.display_name,
            avatar_url=user.avatar_url or None,
            is_guest=user.is_guest,
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request: HttpRequest, sociallogin: Any, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        extra = sociallogin.account.extra_data or {}
        name = (
            data.get("name")
            or extra.get("name")
            or " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part)
        )
        if name and not user.display_name:
            user.display_name = str(name)[:150]
        avatar = sociallogin.account.get_avatar_url()
        if avatar and not user.avatar_url and str(avatar).startswith("https://"):
            user.avatar_url = str(avatar)[:500]
        return user


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_label(self, user: Any) -> str:
        return str(user.email or user.pk)
