"""Reads: a workspace's subscription, entitlements and usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from djstripe.models import Customer, Subscription

from billing import plans
from billing.usage import usage_for
from core.exceptions import PermissionDenied
from workspaces.entitlements import entitlements_for
from workspaces.models import BillingStatus, Role, Workspace, role_at_least


def customer_for(workspace: Workspace) -> Customer | None:
    """The workspace's Stripe customer in the configured mode, if it has one yet."""
    return (
        Customer.objects.filter(
            subscriber_id=workspace.pk, livemode=settings.STRIPE_LIVE_MODE, date_purged=None
        )
        .order_by("-djstripe_created")
        .first()
    )


def current_subscription(workspace: Workspace) -> Subscription | None:
    """The subscription that holds the workspace's plan: the newest live one, else the newest."""
    subscriptions = Subscription.objects.filter(
        customer__subscriber_id=workspace.pk, livemode=settings.STRIPE_LIVE_MODE
    ).order_by("-created", "-djstripe_id")
    live = subscriptions.filter(stripe_data__status__in=sorted(plans.LIVE_STRIPE_STATUSES))
    return live.first() or subscriptions.first()


def grace_period_ends_at(workspace: Workspace) -> datetime | None:
    if workspace.billing_status != BillingStatus.PAST_DUE or workspace.past_due_since is None:
        return None
    return workspace.past_due_since + timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS)


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


@dataclass(frozen=True)
class BillingOverview:
    billing_enabled: bool
    plan: str
    effective_plan: str
    plan_override: str | None
    status: str
    seats: int
    current_period_end: datetime | None
    cancel_at_period_end: bool
    trial_end: datetime | None
    past_due_since: datetime | None
    grace_period_ends_at: datetime | None
    limits: dict[str, int | None]
    usage: dict[str, int | None]


def billing_overview(*, workspace: Workspace) -> BillingOverview:
    """Plan, status, seats and period of the workspace's subscription, with the limits that
    apply now and what is in use. Reads local rows only (dj-stripe's copy of the subscription,
    kept fresh by webhooks); never calls Stripe."""
    subscription = current_subscription(workspace)
    data: dict[str, Any] = dict(subscription.stripe_data) if subscription is not None else {}
    entitlements = entitlements_for(workspace)
    return BillingOverview(
        billing_enabled=settings.BILLING_ENABLED,
        plan=workspace.plan,
        effective_plan=entitlements.plan,
        plan_override=workspace.plan_override or None,
        status=workspace.billing_status,
        seats=workspace.seats,
        current_period_end=_timestamp(plans.period_end(data)) if data else None,
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        trial_end=_timestamp(data.get("trial_end")) if data.get("status") == "trialing" else None,
        past_due_since=workspace.past_due_since,
        grace_period_ends_at=grace_period_ends_at(workspace),
        limits=dict(entitlements.limits),
        usage=usage_for(workspace),
    )


def subscriber_from_request(request: HttpRequest) -> Workspace:
    """DJSTRIPE_SUBSCRIBER_MODEL_REQUEST_CALLBACK: the workspace named in the URL, for an owner
    or admin of it. Only dj-stripe's own view mixins call this; our endpoints subclass
    WorkspaceScopedApi. Must run inside a transaction (it binds row-level security)."""
    from workspaces.api.base import resolve_membership

    match = request.resolver_match
    workspace_id = match.kwargs.get("workspace_id") if match is not None else None
    if not workspace_id or not request.user.is_authenticated:
        raise PermissionDenied("No workspace in this request.")
    membership = resolve_membership(user=request.user, workspace_id=workspace_id)
    if not role_at_least(membership.role, Role.ADMIN):
        raise PermissionDenied(f"Your role ({membership.role}) cannot manage billing.")
    return membership.workspace
