"""Plans and Stripe's vocabulary: which price is which plan, which status is which state.

Pure functions over settings and Stripe JSON; no database and no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from workspaces.models import BillingStatus, Plan

PAID_PLANS: tuple[str, ...] = (Plan.PRO, Plan.TEAM)
# The plans a checkout can buy, as choices (named PaidPlanEnum in the OpenAPI schema).
PAID_PLAN_CHOICES = [(plan, Plan(plan).label) for plan in PAID_PLANS]
PER_SEAT_PLANS: tuple[str, ...] = (Plan.TEAM,)

# Stripe subscription status -> the workspace's billing status. `incomplete` (a first payment
# still being confirmed) maps to nothing: it grants no plan and changes nothing. `unpaid`
# (retries exhausted, subscription kept) stays past due, so the grace clock keeps running.
# `paused` (a trial ended without a payment method) and `incomplete_expired` hold no plan.
_STATUSES: dict[str, str] = {
    "active": BillingStatus.ACTIVE,
    "trialing": BillingStatus.TRIALING,
    "past_due": BillingStatus.PAST_DUE,
    "unpaid": BillingStatus.PAST_DUE,
    "canceled": BillingStatus.CANCELED,
    "incomplete_expired": BillingStatus.CANCELED,
    "paused": BillingStatus.CANCELED,
}
# Stripe statuses of a subscription that still holds a paid plan.
LIVE_STRIPE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid"})


def price_lookup_keys() -> dict[str, str]:
    """Plan -> the lookup key of the Stripe price a checkout for it uses."""
    return {
        Plan.PRO: settings.STRIPE_PRICE_LOOKUP_PRO,
        Plan.TEAM: settings.STRIPE_PRICE_LOOKUP_TEAM,
    }


def plan_for_lookup_key(lookup_key: str | None) -> str | None:
    if not lookup_key:
        return None
    for plan, key in price_lookup_keys().items():
        if key == lookup_key:
            return plan
    return None


def billing_status_for(stripe_status: str) -> str | None:
    return _STATUSES.get(stripe_status)


@dataclass(frozen=True)
class SubscribedPlan:
    plan: str
    seats: int


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def subscribed_plan(subscription: Mapping[str, Any]) -> SubscribedPlan | None:
    """The plan and seat count a Stripe subscription pays for, from its items' price lookup keys
    (falling back to the `plan` metadata our checkout sets); None when no item is ours."""
    items = (subscription.get("items") or {}).get("data") or []
    for item in items:
        price = item.get("price") or {}
        plan = plan_for_lookup_key(price.get("lookup_key") if isinstance(price, Mapping) else None)
        if plan is not None:
            seats = int(item.get("quantity") or 1) if plan in PER_SEAT_PLANS else 1
            return SubscribedPlan(plan=plan, seats=max(seats, 1))
    plan = (subscription.get("metadata") or {}).get("plan")
    if plan in PAID_PLANS:
        quantity = int(items[0].get("quantity") or 1) if items else 1
        return SubscribedPlan(plan=plan, seats=max(quantity if plan in PER_SEAT_PLANS else 1, 1))
    return None


def invoice_subscription_id(invoice: Mapping[str, Any]) -> str | None:
    """The subscription an invoice bills: `parent.subscription_details.subscription` since API
    version 2025-03-31, `subscription` before."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(invoice.get("subscription"))


def period_end(subscription: Mapping[str, Any]) -> int | None:
    """End of the current period (Unix time): on the items since API version 2025-03-31, on the
    subscription before."""
    ends = [
        int(item["current_period_end"])
        for item in (subscription.get("items") or {}).get("data") or []
        if item.get("current_period_end")
    ]
    if ends:
        return max(ends)
    value = subscription.get("current_period_end")
    return int(value) if value else None


def customer_id(obj: Mapping[str, Any]) -> str | None:
    if obj.get("object") == "customer":
        return _id(obj.get("id"))
    return _id(obj.get("customer"))
