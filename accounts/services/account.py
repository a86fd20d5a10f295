"""The signed-in user's own account: profile, deletion, deactivation, verification links."""

from __future__ import annotations

from typing import Any

from allauth.account.internal.flows.reauthentication import (
    did_recently_reauthenticate,
    get_reauthentication_flows,
)
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.db import transaction
from django.http import HttpRequest

from accounts.hooks import deletion_blockers
from accounts.services.sessions import sessions_end_for_user
from accounts.signals import SecurityAction, emit_security_event, user_deleting
from core.exceptions import ApplicationError, Conflict

PROFILE_FIELDS = ("display_name", "avatar_url")


class ReauthenticationRequired(ApplicationError):
    # 401 with `flows`, as allauth answers the same condition on /_allauth/.
    status_code = 401
    code = "reauthentication_required"


def require_recent_reauthentication(*, request: HttpRequest) -> None:
    """`request.session` must be the caller's allauth session (accounts.internal.headless)."""
    if did_recently_reauthenticate(request):
        return
    user = request.user
    # allauth offers no flows to an anonymous user either; the check narrows the type for it.
    flows = (
        [flow["id"] for flow in get_reauthentication_flows(user)] if user.is_authenticated else []
    )
    raise ReauthenticationRequired(
        "Confirm it is you first: reauthenticate, then repeat the request.",
        extra={"flows": flows},
    )


@transaction.atomic
def profile_update(*, user: Any, data: dict[str, Any]) -> Any:
    fields = [name for name in PROFILE_FIELDS if name in data]
    for name in fields:
        setattr(user, name, data[name])
    if fields:
        user.full_clean(exclude=["password", "email"], validate_constraints=False)
        user.save(update_fields=[*fields, "updated_at"])
    return user


def account_delete(*, user: Any, request: HttpRequest | None, reason: str = "user_request") -> None:
    """Delete the user and everything that cascades from it.

    Other apps veto through accounts.hooks.register_deletion_check (e.g. sole owner of a shared
    workspace) and clean up on accounts.signals.user_deleting. Callers that act for the user
    check reauthentication first.
    """
    blockers = deletion_blockers(user)
    if blockers:
        raise Conflict(
            blockers[0].message
            if len(blockers) == 1
            else "Your account cannot be deleted yet: " + " ".join(b.message for b in blockers),
            code="account_deletion_blocked",
            extra={
                "blockers": [
                    {"code": b.code, "message": b.message, **({"data": b.data} if b.data else {})}
                    for b in blockers
                ]
            },
        )
    with transaction.atomic():
        emit_security_event(
            user=user,
            action=SecurityAction.ACCOUNT_DELETED,
            request=request,
            metadata={"reason": reason, "user_id": str(user.pk)},
        )
        user_deleting.send(sender=user.__class__, user=user)
        sessions_end_for_user(user=user, reason="account_deleted", request=request)
        user.delete()


@transaction.atomic
def user_deactivate(*, user: Any, request: HttpRequest | None) -> None:
    """Block the user from signing in and revoke every session and token now."""
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    sessions_end_for_user(user=user, reason="deactivated", request=request)
    emit_security_event(user=user, action=SecurityAction.ACCOUNT_DEACTIVATED, request=request)


def verification_link_send(*, user: Any, request: HttpRequest) -> bool:
    """Email a verification link for the user's unverified primary address (admin action).

    Codes live in the session of the client that asked for them, so a link (opened in the web
    app, which posts its key to /api/v1/auth/email/verify-link) is what can be sent from here.
    """
    from accounts.mailer import mail_send

    address = (
        EmailAddress.objects.filter(user_id=user.pk, verified=False)
        .order_by("-primary", "id")
        .first()
    )
    if address is None:
        return False
    confirmation = EmailConfirmationHMAC(address)
    from django.conf import settings

    url = settings.HEADLESS_FRONTEND_URLS["account_confirm_email"].format(key=confirmation.key)
    mail_send(
        template_prefix="emails/verify_link",
        to=address.email,
        context={"user": user, "activate_url": url, "email": address.email},
    )
    return True


def verification_link_confirm(*, request: HttpRequest, key: str) -> EmailAddress:
    """Verify an address from the key of a verification link."""
    confirmation = EmailConfirmationHMAC.from_key(key)
    if confirmation is None:
        raise ApplicationError(
            "This verification link is invalid or has expired.", code="invalid_verification_key"
        )
    address = confirmation.email_address
    if address.verified:
        return address
    with transaction.atomic():
        confirmed = confirmation.confirm(request)
    if confirmed is None:
        raise Conflict("This address is already verified by another account.", code="email_taken")
    return confirmed
