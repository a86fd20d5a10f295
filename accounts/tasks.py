from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import get_connection

from accounts.email import is_retryable
from accounts.mailer import payload_to_message

logger = logging.getLogger(__name__)


def _backoff(retries: int) -> int:
    """30 s, 60 s, 2 min, 4 min … capped at one hour."""
    return int(min(30 * (2**retries), 3600))


@shared_task(name="accounts.send_email", bind=True, acks_late=True, max_retries=None)
def send_email(self: Task[[dict[str, Any]], int], payload: dict[str, Any]) -> int:
    """Send one rendered message (accounts.mailer.message_to_payload) with EMAIL_BACKEND.

    Transient failures (network, 429, 5xx) are retried with exponential backoff up to
    EMAIL_TASK_MAX_RETRIES; permanent ones (4xx) are logged and dropped. The payload id is the
    provider's idempotency key, so a retry after an unseen success does not send twice.
    """
    message = payload_to_message(payload)
    try:
        return get_connection(fail_silently=False).send_messages([message]) or 0
    except Exception as error:
        if not is_retryable(error):
            logger.error("email dropped: permanent failure", exc_info=True)
            return 0
        if self.request.retries >= settings.EMAIL_TASK_MAX_RETRIES:
            logger.error("email dropped: retries exhausted", exc_info=True)
            raise
        raise self.retry(exc=error, countdown=_backoff(self.request.retries)) from error


@shared_task(name="accounts.purge_idle_guests", acks_late=True)
def purge_idle_guests() -> int:
    from accounts.services.guests import guests_purge_idle

    return guests_purge_idle(idle_days=settings.GUEST_IDLE_DAYS)


@shared_task(name="accounts.purge_expired_sessions", acks_late=True)
def purge_expired_sessions() -> int:
    from accounts.services.sessions import sessions_purge_expired

    return sessions_purge_expired()
