"""Writes of the billing app. Each public function is one action.

Checkout and the customer portal run in the caller's request (WorkspaceScopedApi binds the
workspace). Stripe's side arrives through webhooks (billing.webhooks), which call
`subscription_sync`: it re-reads the subscription from Stripe's API under a lock on the
workspace row and applies that state, so the final state is Stripe's latest whatever order the
events came in, and applying it again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from djstripe.models import Customer, Subscription
from djstripe.settings import djstripe_settings

from billing import gateway, plans, selectors
from billing.models import BillingNotice, NoticeKind
from billing.usage import members_in_use
from core.exceptions import ApplicationError, Conflict, ServiceUnavailable
from workspaces.audit import audit_record
from workspaces.models import BillingStatus, Membership, Plan, Role, Workspace, role_at_least

logger = logging.getLogger(__name__)

PLAN_CHANGED = "billing.plan_changed"


def _require_billing_manager(membership: Membership) -> None:
    if not role_at_least(membership.role, Role.ADMIN):
        from core.exceptions import PermissionDenied

        raise PermissionDenied(f"Your role ({membership.role}) cannot manage billing.")


def _require_enabled() -> None:
    if not settings.BILLING_ENABLED:
        raise ServiceUnavailable(
            "Billing is not enabled on this server.", code="billing_disabled", status=503
        )


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        "Some fields are invalid.", code="validation_error", fields={field: [message]}
    )


def return_url(*, given: str | None, template: str, workspace_id: object, field: str) -> str:
    """The URL Stripe sends the browser back to: the client's own, if its origin is allowed,
    else the configured one. `{workspace_id}` is filled in; Stripe's `{CHECKOUT_SESSION_ID}`
    is left for Stripe."""
    if given:
        parts = urlsplit(given)
        origin = f"{parts.scheme}://{parts.netloc}"
        if (
            parts.scheme not in ("http", "https")
            or origin not in settings.BILLING_RETURN_URL_ORIGINS
        ):
            raise _invalid(field, "This URL is not on an allowed origin.")
        return given
    return template.replace("{workspace_id}", str(workspace_id))


@dataclass(frozen=True)
class StripeSession:
    id: str
    url: str


def _live_subscription_exists(workspace: Workspace) -> bool:
    current = selectors.current_subscription(workspace)
    return current is not None and current.stripe_data.get("status") in plans.LIVE_STRIPE_STATUSES


def customer_get_or_create(*, workspace: Workspace) -> Customer:
    """The workspace's Stripe customer, created at Stripe on first use (dj-stripe links it to
    the workspace through the customer's `djstripe_subscriber` metadata)."""
    customer = selectors.customer_for(workspace)
    if customer is not None:
        return customer
    # dj-stripe's Customer.get_or_create is unannotated; it returns (customer, created).
    created: tuple[Customer, bool] = gateway.call(
        "customer create",
        lambda: Customer.get_or_create(
            subscriber=workspace,
            livemode=settings.STRIPE_LIVE_MODE,
            api_key=gateway.api_key(),
            metadata={"workspace_id": str(workspace.pk)},
        ),
    )
    return created[0]


def checkout_session_create(
    *,
    membership: Membership,
    plan: str,
    seats: int | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> StripeSession:
    """Start a Stripe Checkout Session that subscribes the workspace to `plan` (`seats` for
    team, default: the members and pending invitations it has now). The plan changes when
    Stripe's webhook says the subscription exists, not here."""
    _require_billing_manager(membership)
    _require_enabled()
    workspace = membership.workspace
    if plan not in plans.PAID_PLANS:
        raise _invalid("plan", f"Choose one of: {', '.join(plans.PAID_PLANS)}.")
    if plan in plans.PER_SEAT_PLANS:
        in_use = members_in_use(workspace)
        seats = seats if seats is not None else max(in_use, 1)
        if seats > settings.BILLING_MAX_SEATS:
            raise _invalid("seats", f"At most {settings.BILLING_MAX_SEATS} seats.")
        if seats < in_use:
            raise _invalid(
                "seats",
                f"The workspace has {in_use} members and pending invitations; buy at least "
                "as many seats.",
            )
    elif seats not in (None, 1):
        raise _invalid("seats", "Only the team plan is billed per seat.")
    else:
        seats = 1
    success = return_url(
        given=success_url,
        template=settings.BILLING_CHECKOUT_SUCCESS_URL,
        workspace_id=workspace.pk,
        field="success_url",
    )
    cancel = return_url(
        given=cancel_url,
        template=settings.BILLING_CHECKOUT_CANCEL_URL,
        workspace_id=workspace.pk,
        field="cancel_url",
    )
    if _live_subscription_exists(workspace):
        raise Conflict(
            "This workspace already has a subscription. Change it in the billing portal.",
            code="subscription_exists",
        )
    lookup_key = plans.price_lookup_keys()[plan]
    price = gateway.price_for_lookup_key(lookup_key)
    if price is None:
        logger.error("no active Stripe price with lookup key %r (plan %s)", lookup_key, plan)
        raise ServiceUnavailable(
            f"The {plan} plan cannot be bought right now.", code="plan_unavailable"
        )
    customer = customer_get_or_create(workspace=workspace)
    metadata = {"workspace_id": str(workspace.pk), "plan": plan}
    session = gateway.checkout_session_create(
        mode="subscription",
        customer=customer.id,
        client_reference_id=str(workspace.pk),
        line_items=[{"price": price["id"], "quantity": seats}],
        success_url=success,
        cancel_url=cancel,
        metadata=metadata,
        subscription_data={"metadata": metadata},
    )
    return StripeSession(id=session["id"], url=session["url"])


def portal_session_create(*, membership: Membership, return_to: str | None = None) -> StripeSession:
    """Open Stripe's customer portal for the workspace (plan changes, seats, cards, invoices,
    cancellation). Changes made there come back through webhooks."""
    _require_billing_manager(membership)
    _require_enabled()
    workspace = membership.workspace
    url = return_url(
        given=return_to,
        template=settings.BILLING_PORTAL_RETURN_URL,
        workspace_id=workspace.pk,
        field="return_url",
    )
    customer = selectors.customer_for(workspace)
    if customer is None:
        raise Conflict(
            "This workspace has no billing account yet. Subscribe to a plan first.",
            code="no_billing_account",
        )
    session = gateway.portal_session_create(customer=customer.id, return_url=url)
    return StripeSession(id=session["id"], url=session["url"])


# ---------------------------------------------------------------------------------------------
# Webhook side: Stripe's state onto the workspace.
# ---------------------------------------------------------------------------------------------


def workspace_id_for(obj: Mapping[str, Any]) -> str | None:
    """The workspace a Stripe object belongs to: through its customer, which dj-stripe links to
    the workspace, else through the metadata our checkout puts on customers and subscriptions."""
    customer_id = plans.customer_id(obj)
    if customer_id:
        subscriber_id = (
            Customer.objects.filter(id=customer_id).values_list("subscriber_id", flat=True).first()
        )
        if subscriber_id:
            return str(subscriber_id)
    metadata: Mapping[str, Any] = obj.get("metadata") or {}
    if obj.get("object") == "invoice":
        parent = obj.get("parent") or {}
        metadata = (parent.get("subscription_details") or {}).get("metadata") or metadata
    candidate = metadata.get("workspace_id") or (
        metadata.get(djstripe_settings.SUBSCRIBER_CUSTOMER_KEY)
        if obj.get("object") == "customer"
        else None
    )
    return str(candidate) if candidate else None


def _other_live_subscription(workspace: Workspace, subscription_id: str) -> bool:
    return (
        Subscription.objects.filter(
            customer__subscriber_id=workspace.pk,
            stripe_data__status__in=sorted(plans.LIVE_STRIPE_STATUSES),
        )
        .exclude(id=subscription_id)
        .exists()
    )


def subscription_apply(*, workspace: Workspace, subscription: Mapping[str, Any]) -> list[str]:
    """Make the workspace's plan, seats and billing status what `subscription` (Stripe's current
    object) says. Idempotent. Returns the names of the fields it changed."""
    status = plans.billing_status_for(str(subscription.get("status")))
    if status is None:
        return []  # `incomplete`: the first payment is still being confirmed
    if status == BillingStatus.CANCELED:
        if _other_live_subscription(workspace, str(subscription["id"])):
            return []  # an older subscription ended; a newer one holds the plan
        plan, seats = str(Plan.FREE), 1
    else:
        subscribed = plans.subscribed_plan(subscription)
        if subscribed is None:
            logger.error(
                "subscription %s has no price with a known lookup key; plan left as is",
                subscription.get("id"),
            )
            plan, seats = workspace.plan, workspace.seats
        else:
            plan, seats = subscribed.plan, subscribed.seats
    past_due_since = workspace.past_due_since if status == BillingStatus.PAST_DUE else None
    if status == BillingStatus.PAST_DUE and past_due_since is None:
        past_due_since = timezone.now()
    wanted = {
        "plan": plan,
        "seats": seats,
        "billing_status": status,
        "past_due_since": past_due_since,
    }
    before = {name: getattr(workspace, name) for name in wanted}
    changed = [name for name, value in wanted.items() if before[name] != value]
    if not changed:
        return []
    for name in changed:
        setattr(workspace, name, wanted[name])
    workspace.save(update_fields=[*changed, "updated_at"])
    audit_record(
        action=PLAN_CHANGED,
        workspace_id=workspace.pk,
        target_type="subscription",
        target_id=subscription.get("id", ""),
        metadata={
            "changed": {
                name: [_jsonable(before[name]), _jsonable(wanted[name])] for name in changed
            }
        },
    )
    return changed


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class SyncResult:
    workspace: Workspace
    subscription: Mapping[str, Any]
    changed: list[str]


@transaction.atomic
def subscription_sync(*, subscription_id: str, hint: Mapping[str, Any]) -> SyncResult | None:
    """Re-read subscription `subscription_id` from Stripe and apply it to its workspace.

    `hint` is the object of the event that prompted this (the subscription or an invoice); it
    only says which workspace to lock, never what state to apply. The workspace row is locked
    before the read, so two events processed at once apply in read order and the last one
    applies the newest state. dj-stripe's copy of the subscription is refreshed from the same
    read. Must run in a transaction bound to the workspace (billing.webhooks binds it).
    """
    workspace_id = workspace_id_for(hint)
    workspace = (
        Workspace.objects.select_for_update().filter(pk=workspace_id).first()
        if workspace_id
        else None
    )
    if workspace is None:
        logger.warning("subscription %s belongs to no workspace here; ignored", subscription_id)
        return None
    fetched = gateway.subscription_retrieve(subscription_id)
    Subscription.sync_from_stripe_data(fetched, api_key=gateway.api_key())
    data = gateway.plain(fetched)
    changed = subscription_apply(workspace=workspace, subscription=data)
    return SyncResult(workspace=workspace, subscription=data, changed=changed)


def _notice_once(*, workspace: Workspace, kind: str, key: str) -> bool:
    """Record that notice (kind, key) goes out; False when it already went."""
    try:
        with transaction.atomic():
            BillingNotice.objects.create(workspace=workspace, kind=kind, key=key[:200])
    except IntegrityError:
        return False
    return True


def _billing_managers(workspace: Workspace) -> list[Any]:
    memberships = Membership.objects.filter(
        workspace_id=workspace.pk, role__in=(Role.OWNER, Role.ADMIN)
    ).select_related("user")
    return [m.user for m in memberships.order_by("created_at") if m.user.email]


def _money(amount: int | None, currency: str | None) -> str:
    currency = (currency or "").lower()
    if amount is None:
        return ""
    if currency in djstripe_settings.ZERO_DECIMAL_CURRENCIES:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def _billing_url(workspace: Workspace) -> str:
    return settings.BILLING_PORTAL_RETURN_URL.replace("{workspace_id}", str(workspace.pk))


def _send(workspace: Workspace, template_prefix: str, context: dict[str, Any]) -> int:
    from accounts.mailer import mail_send

    recipients = _billing_managers(workspace)
    for user in recipients:
        mail_send(
            template_prefix=template_prefix,
            to=user.email,
            context={
                **context,
                "user": user,
                "workspace_name": workspace.name,
                "billing_url": _billing_url(workspace),
            },
        )
    return len(recipients)


def payment_failed_notify(*, workspace: Workspace, invoice: Mapping[str, Any]) -> int:
    """Email the owners and admins that a payment failed, once per invoice and attempt.
    Returns how many emails were queued (0 when this attempt was already notified)."""
    if invoice.get("status") == "paid":
        return 0  # paid meanwhile (the event is older than the invoice's state)
    key = f"{invoice['id']}:{invoice.get('attempt_count') or 0}"
    if not _notice_once(workspace=workspace, kind=NoticeKind.PAYMENT_FAILED, key=key):
        return 0
    next_attempt = invoice.get("next_payment_attempt")
    grace_ends = selectors.grace_period_ends_at(workspace)
    return _send(
        workspace,
        "emails/billing_payment_failed",
        {
            "amount_due": _money(invoice.get("amount_due"), invoice.get("currency")),
            "invoice_url": invoice.get("hosted_invoice_url") or "",
            "next_payment_attempt": (
                datetime.fromtimestamp(int(next_attempt), tz=UTC) if next_attempt else None
            ),
            "grace_period_ends_at": grace_ends,
            "plan": workspace.plan,
        },
    )


def trial_ending_notify(*, workspace: Workspace, subscription: Mapping[str, Any]) -> int:
    """Email the owners and admins that the trial ends soon, once per subscription and trial
    end. Nothing is sent when the subscription is no longer trialing."""
    trial_end = subscription.get("trial_end")
    if subscription.get("status") != "trialing" or not trial_end:
        return 0
    key = f"{subscription['id']}:{trial_end}"
    if not _notice_once(workspace=workspace, kind=NoticeKind.TRIAL_ENDING, key=key):
        return 0
    customer = Customer.objects.filter(id=plans.customer_id(subscription)).first()
    customer_data: dict[str, Any] = dict(customer.stripe_data) if customer is not None else {}
    has_payment_method = bool(
        subscription.get("default_payment_method")
        or subscription.get("default_source")
        or (customer_data.get("invoice_settings") or {}).get("default_payment_method")
        or customer_data.get("default_source")
    )
    return _send(
        workspace,
        "emails/billing_trial_ending",
        {
            "trial_end": datetime.fromtimestamp(int(trial_end), tz=UTC),
            "plan": workspace.plan,
            "has_payment_method": has_payment_method,
        },
    )


def workspace_subscriptions_cancel_ids(*, workspace: Workspace) -> list[str]:
    """Ids of the workspace's live subscriptions (to cancel when the workspace is deleted)."""
    return list(
        Subscription.objects.filter(
            customer__subscriber_id=workspace.pk,
            stripe_data__status__in=sorted(plans.LIVE_STRIPE_STATUSES),
        ).values_list("id", flat=True)
    )
