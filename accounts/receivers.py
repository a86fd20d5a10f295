"""What accounts does when allauth (and Django auth) report something.

Connected in AccountsConfig.ready(). Receivers only translate: the work lives in services.
"""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.account.models import EmailAddress
from allauth.headless.constants import Client
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as social_signals
from django.contrib.auth import get_user_model
from django.contrib.auth import signals as auth_signals
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from accounts.mailer import mail_send
from accounts.services.devices import device_record_sign_in
from accounts.services.guests import guest_upgrade_complete
from accounts.services.sessions import sessions_end_for_user
from accounts.signals import SecurityAction, emit_security_event, user_registered


def _is_app_client(request: HttpRequest | None) -> bool:
    headless = getattr(getattr(request, "allauth", None), "headless", None)
    return getattr(headless, "client", None) == Client.APP


def on_user_signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    method = "social" if kwargs.get("sociallogin") is not None else "email"
    user_registered.send(sender=user.__class__, user=user, request=request, method=method)
    emit_security_event(
        user=user, action=SecurityAction.SIGNED_UP, request=request, metadata={"method": method}
    )
    # Social signups arrive with a verified address: welcome now. Email signups are welcomed
    # when they verify (on_email_confirmed).
    if EmailAddress.objects.filter(user_id=user.pk, verified=True).exists():
        mail_send(template_prefix="emails/welcome", to=user.email, context={"user": user})


def on_user_logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    metadata: dict[str, Any] = {
        "method": "socialaccount" if sociallogin is not None else "password",
        "client": getattr(
            getattr(getattr(request, "allauth", None), "headless", None), "client", ""
        )
        or "",
    }
    if sociallogin is not None:
        metadata["provider"] = sociallogin.account.provider
    emit_security_event(
        user=user, action=SecurityAction.SIGNED_IN, request=request, metadata=metadata
    )
    if device_record_sign_in(user=user, request=request) and user.email:
        from accounts.internal.http import client_ip, user_agent

        mail_send(
            template_prefix="emails/new_sign_in",
            to=user.email,
            context={"user": user, "ip": client_ip(request), "user_agent": user_agent(request)},
        )


def on_user_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    email = str(credentials.get("email") or credentials.get("username") or "")
    user = get_user_model().objects.filter(email__iexact=email).first() if email else None
    emit_security_event(
        user=user,
        action=SecurityAction.SIGN_IN_FAILED,
        request=request,
        metadata={"email": email[:254]},
    )


def on_user_logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        emit_security_event(user=user, action=SecurityAction.SIGNED_OUT, request=request)


def on_password_changed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Changing (or first setting) a password ends every other session of the user.

    allauth rotated the current session's key (Django does on a password change), which
    invalidates the app client's tokens, as they name their session: mark the request so
    allauth's response carries a fresh access and refresh token for the new session.
    """
    sessions_end_for_user(
        user=user,
        keep_session_key=request.session.session_key,
        reason="password_changed",
        request=request,
    )
    if _is_app_client(request):
        request.allauth.headless._pre_user = AnonymousUser()  # type: ignore[attr-defined]  # set by allauth's middleware
    emit_security_event(user=user, action=SecurityAction.PASSWORD_CHANGED, request=request)


def on_password_set(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    sessions_end_for_user(
        user=user,
        keep_session_key=request.session.session_key,
        reason="password_set",
        request=request,
    )
    if _is_app_client(request):
        request.allauth.headless._pre_user = AnonymousUser()  # type: ignore[attr-defined]  # set by allauth's middleware
    emit_security_event(user=user, action=SecurityAction.PASSWORD_SET, request=request)


def on_password_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """A reset (the user may not know who had the old password) ends every session."""
    sessions_end_for_user(user=user, reason="password_reset", request=request)
    emit_security_event(user=user, action=SecurityAction.PASSWORD_RESET, request=request)


def on_email_added(
    sender: Any, request: HttpRequest, user: Any, email_address: Any, **kw: Any
) -> None:
    emit_security_event(
        user=email_address.user,
        action=SecurityAction.EMAIL_ADDED,
        request=request,
        metadata={"email": email_address.email},
    )


def on_email_confirmed(
    sender: Any, request: HttpRequest, email_address: Any, **kwargs: Any
) -> None:
    user = email_address.user
    emit_security_event(
        user=user,
        action=SecurityAction.EMAIL_VERIFIED,
        request=request,
        metadata={"email": email_address.email},
    )
    if user.is_guest:
        guest_upgrade_complete(request=request, user=user)
        return
    is_first_address = (
        not EmailAddress.objects.filter(user_id=user.pk).exclude(pk=email_address.pk).exists()
    )
    if is_first_address:
        mail_send(template_prefix="emails/welcome", to=email_address.email, context={"user": user})


def on_email_changed(
    sender: Any,
    request: HttpRequest,
    user: Any,
    from_email_address: Any,
    to_email_address: Any,
    **kwargs: Any,
) -> None:
    emit_security_event(
        user=user,
        action=SecurityAction.EMAIL_CHANGED,
        request=request,
        metadata={
            "from_email": from_email_address.email if from_email_address else None,
            "to_email": to_email_address.email,
        },
    )


def on_email_removed(
    sender: Any, request: HttpRequest, user: Any, email_address: Any, **kwargs: Any
) -> None:
    emit_security_event(
        user=user,
        action=SecurityAction.EMAIL_REMOVED,
        request=request,
        metadata={"email": email_address.email},
    )


def on_authenticator_added(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    emit_security_event(
        user=user,
        action=SecurityAction.MFA_ENABLED,
        request=request,
        metadata={"type": authenticator.type},
    )


def on_authenticator_removed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    emit_security_event(
        user=user,
        action=SecurityAction.MFA_DISABLED,
        request=request,
        metadata={"type": authenticator.type},
    )


def on_authenticator_reset(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    emit_security_event(
        user=user, action=SecurityAction.RECOVERY_CODES_REGENERATED, request=request
    )


def on_mfa_failed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any = None, **kwargs: Any
) -> None:
    emit_security_event(
        user=user,
        action=SecurityAction.MFA_FAILED,
        request=request,
        metadata={"type": getattr(authenticator, "type", None)},
    )


def on_social_account_added(sender: Any, request: HttpRequest, sociallogin: Any, **kw: Any) -> None:
    emit_security_event(
        user=sociallogin.user,
        action=SecurityAction.SOCIAL_ACCOUNT_CONNECTED,
        request=request,
        metadata={"provider": sociallogin.account.provider},
    )


def on_social_account_removed(
    sender: Any, request: HttpRequest, socialaccount: Any, **kwargs: Any
) -> None:
    emit_security_event(
        user=socialaccount.user,
        action=SecurityAction.SOCIAL_ACCOUNT_DISCONNECTED,
        request=request,
        metadata={"provider": socialaccount.provider},
    )


def connect() -> None:
    uid = "accounts."
    account_signals.user_signed_up.connect(on_user_signed_up, dispatch_uid=uid + "signed_up")
    account_signals.user_logged_in.connect(on_user_logged_in, dispatch_uid=uid + "logged_in")
    auth_signals.user_login_failed.connect(on_user_login_failed, dispatch_uid=uid + "failed")
    auth_signals.user_logged_out.connect(on_user_logged_out, dispatch_uid=uid + "logged_out")
    account_signals.password_changed.connect(on_password_changed, dispatch_uid=uid + "pw_change")
    account_signals.password_set.connect(on_password_set, dispatch_uid=uid + "pw_set")
    account_signals.password_reset.connect(on_password_reset, dispatch_uid=uid + "pw_reset")
    account_signals.email_added.connect(on_email_added, dispatch_uid=uid + "email_added")
    account_signals.email_confirmed.connect(on_email_confirmed, dispatch_uid=uid + "confirmed")
    account_signals.email_changed.connect(on_email_changed, dispatch_uid=uid + "email_changed")
    account_signals.email_removed.connect(on_email_removed, dispatch_uid=uid + "email_removed")
    mfa_signals.authenticator_added.connect(on_authenticator_added, dispatch_uid=uid + "mfa_add")
    mfa_signals.authenticator_removed.connect(
        on_authenticator_removed, dispatch_uid=uid + "mfa_remove"
    )
    mfa_signals.authenticator_reset.connect(on_authenticator_reset, dispatch_uid=uid + "mfa_reset")
    mfa_signals.authentication_failed.connect(on_mfa_failed, dispatch_uid=uid + "mfa_failed")
    social_signals.social_account_added.connect(
        on_social_account_added, dispatch_uid=uid + "social_added"
    )
    social_signals.social_account_removed.connect(
        on_social_account_removed, dispatch_uid=uid + "social_removed"
    )
