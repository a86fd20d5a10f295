"""Stripe API objects as the API (version 2026-05-27.dahlia) renders them, trimmed to what
dj-stripe and the billing app read. Built locally: the tests never reach Stripe."""

from __future__ import annotations

import itertools
import time
from typing import Any

API_VERSION = "2026-05-27.dahlia"
_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}_t{next(_ids):05d}"


def now() -> int:
    return int(time.time())


def product(plan: str) -> dict[str, Any]:
    return {
        "id": f"prod_{plan}",
        "object": "product",
        "name": plan.title(),
        "active": True,
        "created": 1_700_000_000,
        "livemode": False,
        "metadata": {},
        "type": "service",
        "description": None,
        "images": [],
        "url": None,
    }


def price(plan: str, lookup_key: str, unit_amount: int) -> dict[str, Any]:
    return {
        "id": f"price_{plan}",
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1_700_000_000,
        "currency": "usd",
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": f"{plan.title()} monthly",
        "product": f"prod_{plan}",
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "tax_behavior": "unspecified",
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def subscription(
    *,
    customer: str,
    plan: str,
    price_obj: dict[str, Any],
    status: str = "active",
    quantity: int = 1,
    workspace_id: str | None = None,
    id: str | None = None,
    created: int | None = None,
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    sub_id = id or next_id("sub")
    created = created or now()
    period_end = created + 30 * 86400
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": created,
        "cancel_at": None,
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub_id}",
                    "object": "subscription_item",
                    "created": created,
                    "current_period_start": created,
                    "current_period_end": period_end,
                    "metadata": {},
                    "price": price_obj,
                    "quantity": quantity,
                    "subscription": sub_id,
                    "tax_rates": [],
                    "discounts": [],
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": {"workspace_id": workspace_id, "plan": plan} if workspace_id else {},
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": status,
        "test_clock": None,
        "trial_end": trial_end,
        "trial_start": created if trial_end else None,
    }


def invoice(
    *,
    customer: str,
    subscription_id: str,
    status: str = "open",
    amount_due: int = 4500,
    attempt_count: int = 1,
    id: str | None = None,
) -> dict[str, Any]:
    invoice_id = id or next_id("in")
    created = now()
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": amount_due,
        "amount_paid": amount_due if status == "paid" else 0,
        "amount_remaining": 0 if status == "paid" else amount_due,
        "attempt_count": attempt_count,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": created,
        "currency": "usd",
        "customer": customer,
        "default_payment_method": None,
        "description": None,
        "discounts": [],
        "due_date": None,
        "hosted_invoice_url": f"https://invoice.stripe.test/{invoice_id}",
        "invoice_pdf": f"https://invoice.stripe.test/{invoice_id}/pdf",
        "lines": {"object": "list", "data": [], "has_more": False, "url": "/v1/invoices/x/lines"},
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": created + 3 * 86400 if status != "paid" else None,
        "number": f"FAKE-{invoice_id[-4:]}",
        "paid": status == "paid",
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"subscription": subscription_id, "metadata": {}},
        },
        "period_end": created,
        "period_start": created - 30 * 86400,
        "status": status,
        "subtotal": amount_due,
        "total": amount_due,
    }


def event(event_type: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    return {
        "id": next_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created or now(),
        "data": {"object": obj, "previous_attributes": {}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
