"""Transactional email: rendered in the request, sent by a Celery task after commit.

Other apps send their messages through `mail_send`, e.g. the workspaces app:

    from accounts.mailer import mail_send

    mail_send(
        template_prefix="emails/workspace_invitation",
        to=invitation.email,
        context={"workspace_name": ..., "inviter_name": ..., "accept_url": ..., "expires_at": ...},
    )

A template prefix names three templates: `<prefix>_subject.txt`, `<prefix>_message.txt` and
(optional) `<prefix>_message.html`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string

from core.tasks import enqueue_on_commit


def base_context() -> dict[str, Any]:
    return {
        "product_name": settings.MFA_TOTP_ISSUER,
        "web_app_url": settings.WEB_APP_URL,
    }


def mail_render(
    *, template_prefix: str, to: str | list[str], context: dict[str, Any]
) -> EmailMultiAlternatives:
    """Render `<prefix>_subject.txt`, `<prefix>_message.txt` and `<prefix>_message.html`."""
    ctx = {**base_context(), **context}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", ctx).split()).strip()
    text = render_to_string(f"{template_prefix}_message.txt", ctx).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to] if isinstance(to, str) else list(to),
    )
    try:
        html = render_to_string(f"{template_prefix}_message.html", ctx).strip()
    except TemplateDoesNotExist:
        html = None
    if html:
        message.attach_alternative(html, "text/html")
    return message


def message_to_payload(message: EmailMessage) -> dict[str, Any]:
    html = None
    for content, mimetype in getattr(message, "alternatives", []) or []:
        if mimetype == "text/html":
            html = str(content)
    return {
        "id": uuid.uuid4().hex,
        "subject": str(message.subject),
        "body": str(message.body),
        "html": html,
        "body_is_html": message.content_subtype == "html",
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": {str(k): str(v) for k, v in (message.extra_headers or {}).items()},
    }


def payload_to_message(payload: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload.get("from_email") or settings.DEFAULT_FROM_EMAIL,
        to=payload.get("to") or [],
        cc=payload.get("cc") or [],
        bcc=payload.get("bcc") or [],
        reply_to=payload.get("reply_to") or [],
        headers=payload.get("headers") or {},
    )
    if payload.get("body_is_html"):
        message.content_subtype = "html"
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    message.idempotency_key = payload["id"]  # type: ignore[attr-defined]  # our own, read by accounts.email
    return message


def mail_enqueue(message: EmailMessage) -> None:
    """Send `message` from a Celery task once the current transaction commits."""
    enqueue_on_commit("accounts.send_email", message_to_payload(message))


def mail_send(*, template_prefix: str, to: str | list[str], context: dict[str, Any]) -> None:
    """Render a templated email now and send it from a Celery task after commit."""
    mail_enqueue(mail_render(template_prefix=template_prefix, to=to, context=context))
