"""The billing endpoints: checkout, customer portal, overview; roles and input errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime
from djstripe.models import Customer

from core.tenancy import db_context
from tests.billing import stripe_objects as so
from tests.billing.conftest import PRO_KEY, TEAM_KEY, StripeWorld, Webhooks
from tests.billing.fake_stripe import FakeStripe

pytestmark = pytest.mark.django_db


def url(team: Any, action: str = "") -> str:
    return f"/api/v1/workspaces/{team.workspace.pk}/billing/{action}"


def post(team: Any, role: str, action: str, body: dict[str, Any] | None = None) -> Any:
    return team.client(role).post(url(team, action), body or {}, format="json")


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"]
    return dict(error)


# --- checkout ------------------------------------------------------------------------------


def test_team_checkout_looks_up_the_price_creates_the_customer_and_bills_the_seats(
    team: Any, fake_stripe: FakeStripe
) -> None:
    response = post(team, "owner", "checkout", {"plan": "team", "seats": 12})

    assert response.status_code == 201, response.content
    session = response.json()
    assert session["url"].startswith("https://checkout.stripe.test/cs_test_")
    assert [(r.method, r.path) for r in fake_stripe.requests] == [
        ("GET", "/v1/prices"),
        ("POST", "/v1/customers"),
        ("POST", "/v1/checkout/sessions"),
    ]
    lookup, create_customer, create_session = fake_stripe.requests
    assert lookup.params == {"lookup_keys": [TEAM_KEY], "active": "true", "limit": "1"}
    assert lookup.headers["Authorization"] == "Bearer sk_test_" + "0" * 24
    workspace_id = str(team.workspace.pk)
    # The workspace is the customer: dj-stripe's subscriber key links it back.
    assert create_customer.params["email"] == "alice@example.com"
    assert create_customer.params["metadata"] == {
        "workspace_id": workspace_id,
        "djstripe_subscriber": workspace_id,
    }
    assert create_customer.headers["Idempotency-Key"]
    params = create_session.params
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": "price_team", "quantity": "12"}]
    assert params["client_reference_id"] == workspace_id
    assert params["subscription_data"] == {
        "metadata": {"workspace_id": workspace_id, "plan": "team"}
    }
    assert params["success_url"] == (
        f"http://localhost:8000/workspaces/{workspace_id}/billing?checkout=success"
    )
    assert params["cancel_url"].endswith("?checkout=canceled")
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        customer = Customer.objects.get(subscriber_id=team.workspace.pk)
    assert params["customer"] == customer.id


def test_pro_checkout_is_one_seat_and_seats_default_to_the_members_for_team(
    team: Any, fake_stripe: FakeStripe
) -> None:
    assert post(team, "admin", "checkout", {"plan": "pro"}).status_code == 201
    assert fake_stripe.calls("GET", "/v1/prices")[-1].params["lookup_keys"] == [PRO_KEY]
    assert fake_stripe.calls("POST", "/v1/checkout/sessions")[-1].params["line_items"] == [
        {"price": "price_pro", "quantity": "1"}
    ]
    # Team without seats: as many as members and pending invitations (4 here).
    assert post(team, "admin", "checkout", {"plan": "team"}).status_code == 201
    assert fake_stripe.calls("POST", "/v1/checkout/sessions")[-1].params["line_items"] == [
        {"price": "price_team", "quantity": "4"}
    ]
    # The second checkout reused the customer the first one created.
    assert len(fake_stripe.calls("POST", "/v1/customers")) == 1


def test_a_failed_checkout_retried_does_not_create_a_second_stripe_customer(
    team: Any, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail("POST", "/v1/checkout/sessions", status=500)
    fake_stripe.fail("POST", "/v1/checkout/sessions", status=500)
    fake_stripe.fail("POST", "/v1/checkout/sessions", status=500)  # the SDK retries twice

    first = post(team, "owner", "checkout", {"plan": "pro"})
    assert_error(first, 502, "payment_provider_error")
    # The request rolled back, the local customer row with it; Stripe's customer remains.
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert not Customer.objects.filter(subscriber_id=team.workspace.pk).exists()

    assert post(team, "owner", "checkout", {"plan": "pro"}).status_code == 201
    creates = fake_stripe.calls("POST", "/v1/customers")
    assert len(creates) == 2
    assert creates[0].headers["Idempotency-Key"] == creates[1].headers["Idempotency-Key"]
    assert [o["id"] for o in fake_stripe.objects.values() if o["object"] == "customer"] == [
        fake_stripe.calls("POST", "/v1/checkout/sessions")[-1].params["customer"]
    ]


def test_client_return_urls_must_be_on_an_allowed_origin(
    team: Any, fake_stripe: FakeStripe
) -> None:
    good = "http://localhost:8000/billing/done?session={CHECKOUT_SESSION_ID}"
    response = post(team, "owner", "checkout", {"plan": "pro", "success_url": good})
    assert response.status_code == 201
    assert fake_stripe.calls("POST", "/v1/checkout/sessions")[-1].params["success_url"] == good

    response = post(
        team, "owner", "checkout", {"plan": "pro", "cancel_url": "https://evil.example/phish"}
    )
    error = assert_error(response, 400, "validation_error")
    assert list(error["fields"]) == ["cancel_url"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "plan"),
        ({"plan": "enterprise"}, "plan"),
        ({"plan": "free"}, "plan"),
        ({"plan": "team", "seats": 0}, "seats"),
        ({"plan": "team", "seats": "many"}, "seats"),
        ({"plan": "team", "seats": 501}, "seats"),  # BILLING_MAX_SEATS
        ({"plan": "team", "seats": 3}, "seats"),  # fewer than the 4 members
        ({"plan": "pro", "seats": 5}, "seats"),  # pro is not per seat
        ({"plan": "pro", "success_url": "not a url"}, "success_url"),
        ({"plan": "pro", "success_url": "javascript:alert(1)"}, "success_url"),
    ],
)
def test_bad_checkout_input_is_a_400_in_the_api_error_shape(
    team: Any, fake_stripe: FakeStripe, body: dict[str, Any], field: str
) -> None:
    error = assert_error(post(team, "owner", "checkout", body), 400, "validation_error")
    assert field in error["fields"]
    assert fake_stripe.calls("POST", "/v1/checkout/sessions") == []


def test_checkout_is_refused_while_a_subscription_is_live(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    assert webhooks.deliver(so.event("customer.subscription.created", sub)).status_code == 200

    assert_error(post(team, "owner", "checkout", {"plan": "team"}), 409, "subscription_exists")


def test_checkout_with_no_price_for_the_lookup_key_is_503(
    team: Any, fake_stripe: FakeStripe, settings: Any
) -> None:
    settings.STRIPE_PRICE_LOOKUP_PRO = "no_such_price"
    assert_error(post(team, "owner", "checkout", {"plan": "pro"}), 503, "plan_unavailable")
    assert fake_stripe.calls("POST", "/v1/customers") == []


def test_checkout_and_portal_answer_503_when_billing_is_off(
    team: Any, fake_stripe: FakeStripe, settings: Any
) -> None:
    settings.BILLING_ENABLED = False
    assert_error(post(team, "owner", "checkout", {"plan": "pro"}), 503, "billing_disabled")
    assert_error(post(team, "owner", "portal"), 503, "billing_disabled")
    assert fake_stripe.requests == []
    # The overview still answers: plans and limits apply without Stripe.
    response = team.client("owner").get(url(team))
    assert response.status_code == 200
    assert response.json()["billing_enabled"] is False


# --- customer portal -------------------------------------------------------------------------


def test_portal_opens_for_the_workspace_customer(world: StripeWorld, team: Any) -> None:
    customer = world.checkout("pro")

    response = post(team, "admin", "portal")

    assert response.status_code == 201, response.content
    assert response.json()["url"].startswith("https://billing.stripe.test/bps_")
    (call,) = world.fake.calls("POST", "/v1/billing_portal/sessions")
    assert call.params == {
        "customer": customer,
        "return_url": f"http://localhost:8000/workspaces/{team.workspace.pk}/billing",
    }


def test_portal_without_a_customer_is_409_and_foreign_return_urls_are_400(
    team: Any, fake_stripe: FakeStripe
) -> None:
    assert_error(post(team, "owner", "portal"), 409, "no_billing_account")
    error = assert_error(
        post(team, "owner", "portal", {"return_url": "https://evil.example/"}),
        400,
        "validation_error",
    )
    assert list(error["fields"]) == ["return_url"]
    assert fake_stripe.requests == []


# --- overview --------------------------------------------------------------------------------


def test_overview_shows_plan_status_seats_period_limits_and_usage(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("team", seats=6)
    sub = world.subscription(customer, "team", quantity=6, cancel_at_period_end=True)
    webhooks.deliver(so.event("customer.subscription.created", sub))

    response = team.client("admin").get(url(team))

    assert response.status_code == 200, response.content
    body = response.json()
    period_end = sub["items"]["data"][0]["current_period_end"]
    assert body["plan"] == body["effective_plan"] == "team"
    assert (body["status"], body["seats"], body["plan_override"]) == ("active", 6, None)
    assert body["cancel_at_period_end"] is True
    assert parse_datetime(body["current_period_end"]) == datetime.fromtimestamp(period_end, UTC)
    assert body["trial_end"] is None
    assert body["grace_period_ends_at"] is None
    # Team limits times 6 seats where per seat.
    assert body["limits"] == {
        "members": 6,
        "connections": 1000,
        "saved_queries": None,
        "sync_devices": 60,
        "ai_requests_per_month": 6000,
        "ai_tokens_per_month": 15_000_000,
        "history_retention_days": 730,
    }
    assert body["usage"]["members"] == 4
    assert set(body["usage"]) == set(body["limits"]) - {"history_retention_days"}


# --- who may do what -------------------------------------------------------------------------

ENDPOINTS = [("get", ""), ("post", "checkout"), ("post", "portal")]


@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
@pytest.mark.parametrize(("role", "status"), [("member", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_and_admins_manage_billing(
    team: Any, fake_stripe: FakeStripe, method: str, action: str, role: str, status: int
) -> None:
    client = team.client(role)
    response = getattr(client, method)(url(team, action), {"plan": "pro"}, format="json")
    assert_error(response, status, "permission_denied" if status == 403 else "not_found")
    assert fake_stripe.requests == []


def test_anonymous_callers_are_refused(team: Any) -> None:
    from rest_framework.test import APIClient

    response = APIClient().get(url(team))
    assert response.status_code in (401, 403)
