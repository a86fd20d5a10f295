"""Signals the accounts app sends for other apps (workspaces, audit log) to listen to.

accounts imports no other feature app: whoever needs to react to a user's life cycle connects
here. Receivers run synchronously in the sender's transaction (when there is one); a receiver
that raises aborts the operation, so keep them small and idempotent.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest

# A new user exists: email signup, Google/GitHub signup or guest. Sent once per user, inside
# the transaction that created it when there is one (the workspaces app creates the personal
# workspace here). Arguments: user, request (HttpRequest | None), method ("email" | "social" |
# "guest").
user_registered = Signal()

# A guest verified an email address and became a full account; the user id is unchanged, so
# everything it owns stays. Arguments: user, request.
guest_upgraded = Signal()

# Sent inside the deleting transaction, before the user row is deleted: drop what foreign keys
# do not cascade. Arguments: user.
user_deleting = Signal()

logger = logging.getLogger(__name__)


class _NotificationSignal(Signal):
    def send_isolated(self, sender: Any, **named: Any) -> None:
        """Call every receiver in a savepoint of its own; log, never raise, its failure.

        A notification, not a veto: a failing subscriber (say, the audit log) must neither turn
        a sign-in into a 500 nor keep the other subscribers from hearing of it.
        """
        from asgiref.sync import async_to_sync

        sync_receivers, async_receivers = self._live_receivers(sender)
        for receiver in [*sync_receivers, *(async_to_sync(r) for r in async_receivers)]:
            try:
                with transaction.atomic():
                    receiver(signal=self, sender=sender, **named)
            except Exception:
                logger.exception(
                    "a %s receiver failed", "security_event", extra={"receiver": repr(receiver)}
                )


# Security-relevant events, for the audit log. Arguments: user (None when a sign-in failed for
# an unknown address), action (SecurityAction), request (HttpRequest | None), metadata (dict,
# JSON-serialisable, never a secret: ip, user_agent and action-specific keys).
security_event = _NotificationSignal()


class SecurityAction(StrEnum):
    SIGNED_UP = "signed_up"
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGNED_OUT = "signed_out"
    MFA_ENABLED = "mfa_enabled"  # metadata: type (totp, webauthn, recovery_codes)
    MFA_DISABLED = "mfa_disabled"  # metadata: type
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    MFA_FAILED = "mfa_failed"  # metadata: type
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name, not a password
    PASSWORD_SET = "password_set"  # noqa: S105 - an event name, not a password
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event name, not a password
    EMAIL_ADDED = "email_added"  # metadata: email
    EMAIL_VERIFIED = "email_verified"  # metadata: email
    EMAIL_CHANGED = "email_changed"  # metadata: from_email, to_email
    EMAIL_REMOVED = "email_removed"  # metadata: email
    SOCIAL_ACCOUNT_CONNECTED = "social_account_connected"  # metadata: provider
    SOCIAL_ACCOUNT_DISCONNECTED = "social_account_disconnected"  # metadata: provider
    SESSIONS_REVOKED = "sessions_revoked"  # metadata: count, reason
    GUEST_UPGRADED = "guest_upgraded"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ACCOUNT_DELETED = "account_deleted"


def emit_security_event(
    *,
    user: Any,
    action: SecurityAction,
    request: HttpRequest | None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Send `security_event` with the client's IP and user agent added to the metadata."""
    data: dict[str, Any] = {}
    if request is not None:
        from accounts.internal.http import client_ip, user_agent

        data["ip"] = client_ip(request)
        data["user_agent"] = user_agent(request)
    data.update(metadata or {})
    security_event.send_isolated(
        sender=SecurityAction, user=user, action=action, request=request, metadata=data
    )
