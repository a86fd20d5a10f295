"""A Django email backend that sends through Resend's HTTP API with the official SDK.

Selected with EMAIL_BACKEND=resend (RESEND_API_KEY). It raises on failure unless
fail_silently; accounts.tasks.send_email decides which failures are worth a retry
(`is_retryable`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.utils import formataddr, parseaddr
from typing import Any

import resend
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from resend.exceptions import ResendError

logger = logging.getLogger(__name__)

_HEADERS_SET_BY_RESEND = {"from", "to", "cc", "bcc", "subject", "reply-to", "content-type"}


def is_retryable(error: Exception) -> bool:
    """Network errors, rate limits and server errors may pass on retry; 4xx never will."""
    if isinstance(error, ResendError):
        try:
            status = int(error.code)
        except (TypeError, ValueError):
            return True
        return status == 429 or status >= 500
    return isinstance(error, (ConnectionError, TimeoutError, OSError))


def _address(value: str) -> str:
    name, addr = parseaddr(value)
    return formataddr((name, addr)) if addr else value


def _html_body(message: EmailMessage) -> str | None:
    if message.content_subtype == "html":
        return str(message.body)
    for content, mimetype in getattr(message, "alternatives", []) or []:
        if mimetype == "text/html":
            return str(content)
    return None


class ResendEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.api_key: str | None = getattr(settings, "RESEND_API_KEY", None)

    def _params(self, message: EmailMessage) -> dict[str, Any]:
        params: dict[str, Any] = {
            "from": _address(message.from_email or settings.DEFAULT_FROM_EMAIL),
            "to": [_address(a) for a in message.to],
            "subject": str(message.subject),
        }
        html = _html_body(message)
        if message.content_subtype != "html":
            params["text"] = str(message.body)
        if html is not None:
            params["html"] = html
        if message.cc:
            params["cc"] = [_address(a) for a in message.cc]
        if message.bcc:
            params["bcc"] = [_address(a) for a in message.bcc]
        if message.reply_to:
            params["reply_to"] = [_address(a) for a in message.reply_to]
        headers = {
            k: str(v)
            for k, v in (message.extra_headers or {}).items()
            if k.lower() not in _HEADERS_SET_BY_RESEND
        }
        if headers:
            params["headers"] = headers
        if message.attachments:
            raise ValueError("ResendEmailBackend does not send attachments.")
        return params

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        if not self.api_key:
            if self.fail_silently:
                return 0
            raise ResendError(
                code=401,
                error_type="missing_api_key",
                message="RESEND_API_KEY is not set.",
                suggested_action="Set RESEND_API_KEY.",
            )
        # The SDK is configured through module globals; every process uses the same values.
        resend.api_key = self.api_key
        resend.api_url = settings.RESEND_API_URL
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            options: dict[str, Any] = {}
            idempotency_key = getattr(message, "idempotency_key", None)
            if idempotency_key:
                # A retried task re-sends with the same key: Resend delivers at most once.
                options["idempotency_key"] = idempotency_key
            try:
                response = resend.Emails.send(
                    self._params(message),  # type: ignore[arg-type]  # resend types params as a TypedDict
                    options or None,  # type: ignore[arg-type]  # resend types options as a TypedDict
                )
            except Exception:
                if self.fail_silently:
                    logger.warning("Resend refused a message", exc_info=True)
                    continue
                raise
            logger.info("email sent", extra={"resend_id": response.get("id")})
            sent += 1
        return sent
