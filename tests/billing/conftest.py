from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from django.db import transaction
from django.test import Client
from django.urls import reverse

from core.tenancy import set_db_context
from tests.billing import stripe_objects as so
from tests.billing.fake_stripe import FakeStripe
from tests.workspaces import conftest as workspaces_conftest
from tests.workspaces.conftest import Team

# alice (owner), adam (admin), bob (member), vera (viewer) in "Acme" (team plan, 10 seats), and
# charlie, the outsider, owner of another workspace.
team = workspaces_conftest.team

WEBHOOK_SECRET = "whsec_test_billing_secret"
PRO_KEY = "pro_monthly"
TEAM_KEY = "team_monthly_per_seat"


@pytest.fixture(autouse=True)
def billing_settings(settings: Any) -> Any:
    settings.BILLING_ENABLED = True
    settings.STRIPE_LIVE_MODE = False
    settings.STRIPE_TEST_SECRET_KEY = "sk_test_" + "0" * 24
    settings.DJSTRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_LOOKUP_PRO = PRO_KEY
    settings.STRIPE_PRICE_LOOKUP_TEAM = TEAM_KEY
    settings.BILLING_PAST_DUE_GRACE_DAYS = 7
    return settings


@pytest.fixture(autouse=True)
def fake_stripe() -> Iterator[FakeStripe]:
    """Stripe's API, answered in memory at the SDK's HTTP client (see fake_stripe.py)."""
    fake = FakeStripe()
    for plan, key, amount in (("pro", PRO_KEY, 1500), ("team", TEAM_KEY, 1200)):
        fake.put(so.product(plan))
        fake.put(so.price(plan, key, amount))
    previous = stripe.default_http_client
    stripe.default_http_client = fake
    yield fake
    stripe.default_http_client = previous


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A real Stripe-Signature header: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class Webhooks:
    """Delivers signed events to dj-stripe's webhook URL, like Stripe does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = Client()

    def deliver(self, event: dict[str, Any], *, signature: str | None = None) -> Any:
        payload = json.dumps(event)
        # Stripe's request arrives on a connection bound to nothing. A test runs in one outer
        # transaction, where an earlier request's binding would otherwise still be in force.
        with transaction.atomic():
            set_db_context(workspace_id=None, user_id=None)
        return self.client.post(
            self.url,
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature or sign(payload),
        )


@pytest.fixture
def webhooks(db: None) -> Webhooks:
    from billing.webhooks import webhook_endpoint_sync

    endpoint = webhook_endpoint_sync()
    assert endpoint is not None
    return Webhooks(
        reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
    )


class StripeWorld:
    """What Stripe holds for one workspace: its customer and subscriptions, kept in the fake."""

    def __init__(self, fake: FakeStripe, team: Team) -> None:
        self.fake = fake
        self.team = team

    def checkout(self, plan: str = "pro", seats: int | None = None) -> str:
        """Run the checkout endpoint as the owner; returns the Stripe customer id."""
        body: dict[str, Any] = {"plan": plan}
        if seats is not None:
            body["seats"] = seats
        response = self.team.client("owner").post(
            f"/api/v1/workspaces/{self.team.workspace.pk}/billing/checkout", body, format="json"
        )
        assert response.status_code == 201, response.content
        customers = [o for o in self.fake.objects.values() if o["object"] == "customer"]
        assert len(customers) == 1
        return str(customers[0]["id"])

    def subscription(self, customer: str, plan: str = "pro", **kwargs: Any) -> dict[str, Any]:
        sub = so.subscription(
            customer=customer,
            plan=plan,
            price_obj=copy.deepcopy(self.fake.objects[f"price_{plan}"]),
            workspace_id=str(self.team.workspace.pk),
            **kwargs,
        )
        return self.fake.put(sub)

    def snapshot(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy, as an event carries it (later changes in the fake do not touch it)."""
        return copy.deepcopy(obj)


@pytest.fixture
def world(fake_stripe: FakeStripe, team: Team) -> StripeWorld:
    return StripeWorld(fake_stripe, team)
