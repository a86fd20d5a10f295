"""Stripe webhooks, through dj-stripe.

dj-stripe's view (`/stripe/webhook/<uuid>/`) records every delivery as a WebhookEventTrigger and
verifies its `Stripe-Signature` against the endpoint's secret. A verified delivery is then, in
one transaction:

1. bound to the event's workspace (`bind_event_workspace`, on dj-stripe's `webhook_pre_process`
   signal), so row-level security lets dj-stripe find the workspace it links customers to, and
   lets us lock and update it;
2. processed by dj-stripe: it stores the Event by its Stripe id (a second delivery of
   the same id stops here, so nothing below runs twice), re-reads the object from Stripe's API
   and sends the event's signal;
3. our receivers on those signals re-read the subscription and apply it to the workspace, and
   send the payment-failed and trial-ending emails (each once, see BillingNotice).

Any error rolls the whole event back and answers 500, so Stripe delivers it again later.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from djstripe.enums import WebhookEndpointStatus
from djstripe.models import Event, Invoice, WebhookEndpoint, WebhookEventTrigger
from djstripe.signals import WEBHOOK_SIGNALS, webhook_pre_process

from billing import plans, services
from core.tenancy import set_db_context

logger = logging.getLogger(__name__)

SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
)
INVOICE_EVENTS = ("invoice.paid", "invoice.payment_failed")
HANDLED_EVENTS = (*SUBSCRIPTION_EVENTS, *INVOICE_EVENTS)
# What the endpoint subscribes to: ours, and customer updates, which only dj-stripe handles (its
# copy of the customer's default payment method decides the trial-ending email's wording).
ENABLED_EVENTS = (*HANDLED_EVENTS, "customer.updated")


def _workspace_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def bind_event_workspace(sender: Any, instance: WebhookEventTrigger, **kwargs: Any) -> None:
    """dj-stripe's `webhook_pre_process` signal: sent for every verified delivery, inside
    dj-stripe's transaction, just before it processes the event."""
    body: dict[str, Any] = instance.json_body
    obj = (body.get("data") or {}).get("object") or {}
    workspace_id = _workspace_uuid(services.workspace_id_for(obj))
    # Bound even when None: a previous binding on this connection must not leak into this event.
    set_db_context(workspace_id=workspace_id, user_id=None)


def _on_subscription_event(sender: Any, event: Event, **kwargs: Any) -> None:
    obj = event.data["object"]
    result = services.subscription_sync(subscription_id=obj["id"], hint=obj)
    if result is not None and event.type == "customer.subscription.trial_will_end":
        services.trial_ending_notify(workspace=result.workspace, subscription=result.subscription)


def _on_invoice_event(sender: Any, event: Event, **kwargs: Any) -> None:
    payload = event.data["object"]
    subscription_id = plans.invoice_subscription_id(payload)
    if not subscription_id:
        return  # a one-off invoice: no plan depends on it
    result = services.subscription_sync(subscription_id=subscription_id, hint=payload)
    if result is None or event.type != "invoice.payment_failed":
        return
    # dj-stripe has just re-read the invoice from Stripe: prefer that to the event's copy.
    local = Invoice.objects.filter(id=payload["id"]).first()
    invoice = local.stripe_data if local is not None and local.stripe_data else payload
    services.payment_failed_notify(workspace=result.workspace, invoice=invoice)


def connect() -> None:
    webhook_pre_process.connect(bind_event_workspace, dispatch_uid="billing:bind_workspace")
    for name in SUBSCRIPTION_EVENTS:
        WEBHOOK_SIGNALS[name].connect(_on_subscription_event, dispatch_uid=f"billing:{name}")
    for name in INVOICE_EVENTS:
        WEBHOOK_SIGNALS[name].connect(_on_invoice_event, dispatch_uid=f"billing:{name}")


# ---------------------------------------------------------------------------------------------
# The webhook endpoint row, from settings.
# ---------------------------------------------------------------------------------------------


def webhook_endpoint_url() -> str:
    path = reverse(
        "djstripe:djstripe_webhook_by_uuid",
        kwargs={"uuid": uuid.UUID(settings.BILLING_WEBHOOK_UUID)},
    )
    return settings.PUBLIC_URL.rstrip("/") + path


@transaction.atomic
def webhook_endpoint_sync() -> WebhookEndpoint | None:
    """Create or update the WebhookEndpoint row that verifies deliveries to
    /stripe/webhook/<BILLING_WEBHOOK_UUID>/ with STRIPE_WEBHOOK_SECRET. Idempotent; None (and
    nothing written) when no secret is configured.

    dj-stripe 2.11 reads signing secrets from these rows only. The row's id is local
    (`billing_env_…`, like dj-stripe's own `stripe listen` rows): the endpoint itself is created
    in the Stripe Dashboard with the URL this prints (docs/billing.md)."""
    secret = settings.DJSTRIPE_WEBHOOK_SECRET
    if not secret:
        return None
    endpoint_uuid = uuid.UUID(settings.BILLING_WEBHOOK_UUID)
    endpoint, _created = WebhookEndpoint.objects.update_or_create(
        djstripe_uuid=endpoint_uuid,
        defaults={
            "id": f"billing_env_{endpoint_uuid.hex}",
            "secret": secret,
            "url": webhook_endpoint_url(),
            "livemode": settings.STRIPE_LIVE_MODE,
            # dj-stripe's enum metaclass makes each member its key string ("enabled"); the
            # class body, all mypy sees, assigns a lazy label. str() keeps the value, typed.
            "status": str(WebhookEndpointStatus.enabled),
            "enabled_events": list(ENABLED_EVENTS),
            "api_version": "",
        },
    )
    return endpoint


def sync_endpoint_after_migrate(**kwargs: Any) -> None:
    """post_migrate: the release command migrates on every deploy, so a rotated
    STRIPE_WEBHOOK_SECRET reaches the endpoint row without a manual step."""
    if settings.BILLING_ENABLED and settings.DJSTRIPE_WEBHOOK_SECRET:
        webhook_endpoint_sync()
        logger.info("billing webhook endpoint: %s", webhook_endpoint_url())
