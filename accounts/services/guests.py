"""Guest accounts: no email, tokens only; upgraded in place (same user id) by verifying an email."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.internal.flows.email_verification_by_code import EmailVerificationProcess
from allauth.account.internal.flows.manage_email import assess_unique_email
from allauth.account.models import EmailAddress
from allauth.core.internal.cryptokit import compare_user_code
from django.contrib.auth import HASH_SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from accounts.internal.headless import AppAuthResult
from accounts.services.app_auth import app_login
from accounts.services.ratelimits import rate_limit
from accounts.signals import user_registered
from core.exceptions import ApplicationError, Conflict

logger = logging.getLogger(__name__)

GUEST_DISPLAY_NAME = "Guest"


@transaction.atomic
def guest_create(*, request: HttpRequest) -> tuple[Any, AppAuthResult]:
    """Create a guest user and sign it in as the app client (rate-limited per IP)."""
    rate_limit(request, "guest_create")
    user = get_user_model().objects.create_user(
        email=None, password=None, is_guest=True, display_name=GUEST_DISPLAY_NAME
    )
    user_registered.send(sender=user.__class__, user=user, request=request, method="guest")
    result = app_login(
        request=request, user=user, method="guest", email_verification="none", signup=True
    )
    return user, result


def guest_upgrade_start(*, request: HttpRequest, user: Any, email: str, password: str) -> None:
    """Give a guest an email and a password and send a 6-digit code to the address.

    `request.session` must be the guest's own session (the code is kept there, as for
    allauth's verification flows). When the address belongs to another account, that account
    is told by email instead and the response is the same (no enumeration).
    """
    if not user.is_guest:
        raise Conflict("This account is not a guest account.", code="not_a_guest")
    rate_limit(request, "guest_upgrade", user=user)
    adapter = get_account_adapter(request)
    email = adapter.clean_email(email)
    try:
        adapter.clean_password(password, user=user)
    except ValidationError as error:
        raise ApplicationError(
            "Choose a stronger password.",
            code="validation_error",
            fields={"password": list(error.messages)},
        ) from None
    if not assess_unique_email(email):
        adapter.send_account_already_exists_mail(email)
        return
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    # Keep this session signed in without rotating its key (its tokens stay valid); other
    # sessions of the guest end, as after any password change.
    request.session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    from accounts.services.sessions import sessions_end_for_user

    sessions_end_for_user(
        user=user,
        keep_session_key=request.session.session_key,
        reason="guest_upgrade",
        request=request,
    )
    # The address is stored only once verified (EmailVerificationProcess keeps it meanwhile).
    EmailAddress.objects.filter(user_id=user.pk, verified=False).delete()
    EmailVerificationProcess.initiate(request=request, user=user, email=email)


def guest_upgrade_verify(*, request: HttpRequest, user: Any, code: str) -> Any:
    """Check the code sent by guest_upgrade_start; on success the address is verified and the
    guest becomes a full account (accounts.receivers.on_email_confirmed)."""
    if not user.is_guest:
        raise Conflict("This account is not a guest account.", code="not_a_guest")
    process = EmailVerificationProcess.resume(request)
    if process is None or str(process.state.get("user_id")) != str(user.pk):
        raise Conflict(
            "No verification is pending. Request a new code.", code="no_pending_verification"
        )
    if not compare_user_code(actual=code, expected=process.code):
        attempts_left = process.record_invalid_attempt()
        raise ApplicationError(
            "Incorrect code." if attempts_left else "Incorrect code. Request a new code.",
            code="invalid_code",
            fields={"code": ["Incorrect code."]},
        )
    with transaction.atomic():
        address = process.finish()
        if address is None:
            raise Conflict(
                "This address is already verified by another account.", code="email_taken"
            )
    user.refresh_from_db()
    return user


def guest_upgrade_complete(*, request: HttpRequest | None, user: Any) -> None:
    """Turn a guest with a verified primary address into a full account (same id and data)."""
    from accounts.mailer import mail_send
    from accounts.signals import SecurityAction, emit_security_event, guest_upgraded

    address = EmailAddress.objects.filter(user_id=user.pk, verified=True, primary=True).first()
    if address is None or not user.is_guest:
        return
    user.is_guest = False
    user.email = address.email
    if user.display_name == GUEST_DISPLAY_NAME:
        user.display_name = ""
    user.save(update_fields=["is_guest", "email", "display_name", "updated_at"])
    guest_upgraded.send(sender=user.__class__, user=user, request=request)
    emit_security_event(user=user, action=SecurityAction.GUEST_UPGRADED, request=request)
    mail_send(
        template_prefix="emails/welcome", to=address.email, context={"user": user, "upgraded": True}
    )


def guests_purge_idle(*, idle_days: int) -> int:
    """Delete guests not seen for `idle_days` (never seen: since creation)."""
    from accounts.services.account import account_delete

    cutoff = timezone.now() - timedelta(days=idle_days)
    idle = (
        get_user_model()
        .objects.filter(is_guest=True)
        .annotate(seen=Coalesce("last_seen_at", "created_at"))
        .filter(Q(seen__lt=cutoff))
        .order_by("seen")
    )
    deleted = 0
    for guest in idle.iterator(chunk_size=200):
        try:
            account_delete(user=guest, request=None, reason="guest_idle")
        except ApplicationError as error:
            logger.info("idle guest %s kept: %s", guest.pk, error.message)
            continue
        deleted += 1
    return deleted
