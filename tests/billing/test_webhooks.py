"""Stripe webhooks end to end: signed payloads posted to dj-stripe's webhook URL, Stripe's API
answered by the fake, the workspace read back through row-level security."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from djstripe.models import Customer, Event, Subscription, WebhookEventTrigger

from billing.models import BillingNotice
from billing.services import PLAN_CHANGED
from core.tenancy import db_context
from tests.billing import stripe_objects as so
from tests.billing.conftest import StripeWorld, Webhooks, sign
from workspaces.models import AuditEvent, Workspace

pytestmark = pytest.mark.django_db


def reload(team: Any) -> Workspace:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        return Workspace.objects.get(pk=team.workspace.pk)


def state(team: Any) -> tuple[str, int, str]:
    workspace = reload(team)
    return workspace.plan, workspace.seats, workspace.billing_status


def plan_changes(team: Any) -> int:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        return AuditEvent.objects.filter(
            workspace_id=team.workspace.pk, action=PLAN_CHANGED
        ).count()


def emails(callbacks: list[Any]) -> list[dict[str, Any]]:
    """The messages queued for sending (mail_send enqueues accounts.send_email on commit)."""
    return [
        cb.keywords["args"][0]
        for cb in callbacks
        if getattr(getattr(cb, "func", None), "__self__", None) is not None
        and cb.func.__self__.name == "accounts.send_email"
    ]


def ok(response: Any) -> None:
    assert response.status_code == 200, response.content


# --- verification ----------------------------------------------------------------------------


def test_subscription_created_sets_plan_seats_and_status(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("team", seats=7)
    sub = world.subscription(customer, "team", quantity=7)

    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))

    assert state(team) == ("team", 7, "active")
    assert reload(team).effective_plan == "team"
    # dj-stripe recorded the delivery, the event and its copy of the subscription.
    assert WebhookEventTrigger.objects.filter(valid=True, processed=True).count() == 1
    assert Subscription.objects.get(id=sub["id"]).customer.id == customer


@pytest.mark.parametrize(
    "signature",
    [
        "t=1,v1=" + "0" * 64,  # wrong digest (and old)
        None,  # no header at all
        "garbage",
    ],
)
def test_unsigned_or_badly_signed_deliveries_are_refused(
    world: StripeWorld, webhooks: Webhooks, team: Any, signature: str | None
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    payload = json.dumps(so.event("customer.subscription.created", sub))
    headers = {} if signature is None else {"Stripe-Signature": signature}

    response = webhooks.client.post(
        webhooks.url, data=payload, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert not Event.objects.exists()
    assert world.fake.calls("GET", f"/v1/subscriptions/{sub['id']}") == []
    assert state(team) == ("team", 10, "none")  # the fixture's workspace, untouched


def test_a_signature_with_another_secret_or_outside_the_tolerance_is_refused(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("pro")
    event = so.event("customer.subscription.created", world.subscription(customer, "pro"))
    payload = json.dumps(event)

    forged = webhooks.deliver(event, signature=sign(payload, secret="whsec_someone_else"))
    replayed = webhooks.deliver(event, signature=sign(payload, timestamp=int(time.time()) - 3600))
    tampered = webhooks.deliver(
        {**event, "type": "customer.subscription.deleted"}, signature=sign(payload)
    )

    assert [forged.status_code, replayed.status_code, tampered.status_code] == [400, 400, 400]
    assert not Event.objects.exists()
    assert state(team) == ("team", 10, "none")


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_event_delivered_twice_is_handled_once(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))
    sub["status"] = "past_due"
    invoice = world.fake.put(so.invoice(customer=customer, subscription_id=sub["id"]))
    failed = so.event("invoice.payment_failed", world.snapshot(invoice))

    with django_capture_on_commit_callbacks() as callbacks:
        ok(webhooks.deliver(failed))
        requests_after_first = len(world.fake.requests)
        ok(webhooks.deliver(failed))

    # The second delivery was recorded as a trigger but stopped at dj-stripe's event id check:
    # no API call, no state change, no second email.
    assert WebhookEventTrigger.objects.filter(event_id__isnull=False).count() == 3
    assert Event.objects.filter(id=failed["id"]).count() == 1
    assert len(world.fake.requests) == requests_after_first
    assert plan_changes(team) == 2  # created (team -> pro), failed (active -> past_due)
    assert [m["to"] for m in emails(callbacks)] == [["alice@example.com"], ["adam@example.com"]]


def test_the_same_failure_in_a_new_event_is_mailed_once(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Stripe may send a fact again under a new event id (or an operator resends it); the
    notice key (invoice and attempt) absorbs it. A new attempt is a new notice."""
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro", status="past_due")
    invoice = world.fake.put(so.invoice(customer=customer, subscription_id=sub["id"]))

    with django_capture_on_commit_callbacks() as callbacks:
        ok(webhooks.deliver(so.event("invoice.payment_failed", world.snapshot(invoice))))
        ok(webhooks.deliver(so.event("invoice.payment_failed", world.snapshot(invoice))))
        invoice["attempt_count"] = 2
        ok(webhooks.deliver(so.event("invoice.payment_failed", world.snapshot(invoice))))

    assert len(emails(callbacks)) == 4  # two attempts, owner and admin each
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert BillingNotice.objects.count() == 2


# --- order -----------------------------------------------------------------------------------


def test_updated_arriving_before_created_leaves_the_latest_state(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    created = so.event("customer.subscription.created", world.snapshot(sub), created=100)
    # Then the customer moved to team with 5 seats in the portal: Stripe's state now.
    sub["items"]["data"][0].update(price=world.fake.objects["price_team"], quantity=5)
    updated = so.event("customer.subscription.updated", world.snapshot(sub), created=200)

    ok(webhooks.deliver(updated))
    assert state(team) == ("team", 5, "active")
    ok(webhooks.deliver(created))  # late, and its payload still says pro

    assert state(team) == ("team", 5, "active")


def test_deleted_then_a_late_updated_stays_canceled(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("team", seats=8)
    sub = world.subscription(customer, "team", quantity=8)
    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))
    stale_update = so.event("customer.subscription.updated", world.snapshot(sub))
    sub.update(status="canceled", canceled_at=so.now(), ended_at=so.now())

    ok(webhooks.deliver(so.event("customer.subscription.deleted", world.snapshot(sub))))
    assert state(team) == ("free", 1, "canceled")
    ok(webhooks.deliver(stale_update))  # says active, team, 8 seats

    assert state(team) == ("free", 1, "canceled")
    assert reload(team).effective_plan == "free"


def test_the_payload_is_a_hint_the_api_is_the_truth(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro", status="past_due")
    payload = {**world.snapshot(sub), "status": "active"}

    ok(webhooks.deliver(so.event("customer.subscription.updated", payload)))

    assert state(team) == ("pro", 1, "past_due")


def test_an_old_subscription_ending_does_not_cancel_the_new_one(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("pro")
    old = world.subscription(customer, "pro", created=so.now() - 86400)
    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(old))))
    new = world.subscription(customer, "team", quantity=5)
    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(new))))
    old["status"] = "canceled"

    ok(webhooks.deliver(so.event("customer.subscription.deleted", world.snapshot(old))))

    assert state(team) == ("team", 5, "active")


def test_an_incomplete_subscription_grants_nothing(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro", status="incomplete")

    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))

    assert state(team) == ("team", 10, "none")


def test_a_subscription_of_no_workspace_here_is_acknowledged_and_ignored(
    world: StripeWorld, webhooks: Webhooks, team: Any
) -> None:
    stranger = world.fake.put(
        {
            "id": "cus_stranger",
            "object": "customer",
            "email": "x@example.com",
            "metadata": {},
            "livemode": False,
            "created": so.now(),
        }
    )
    sub = world.subscription(stranger["id"], "pro")
    sub["metadata"] = {}

    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))

    assert state(team) == ("team", 10, "none")
    assert plan_changes(team) == 0


# --- payments, grace, trials -----------------------------------------------------------------


def test_failed_payment_makes_the_workspace_past_due_and_mails_its_billing_managers(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.checkout("team", seats=5)
    sub = world.subscription(customer, "team", quantity=5)
    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))
    sub["status"] = "past_due"
    invoice = world.fake.put(
        so.invoice(customer=customer, subscription_id=sub["id"], amount_due=6000)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        ok(webhooks.deliver(so.event("invoice.payment_failed", world.snapshot(invoice))))

    workspace = reload(team)
    assert (workspace.plan, workspace.billing_status) == ("team", "past_due")
    assert workspace.past_due_since is not None
    assert workspace.effective_plan == "team"  # within the grace period
    messages = emails(callbacks)
    assert sorted(m["to"][0] for m in messages) == ["adam@example.com", "alice@example.com"]
    message = messages[0]
    assert message["subject"] == "Payment failed for Acme on DB Workbench"
    assert "60.00 USD" in message["body"]
    assert invoice["hosted_invoice_url"] in message["body"]
    assert f"/workspaces/{team.workspace.pk}/billing" in message["body"]
    assert message["html"]
    assert "Update the payment method" in message["html"]

    # Paid later: back to active, the grace clock cleared.
    sub["status"] = "active"
    invoice.update(status="paid", paid=True)
    ok(webhooks.deliver(so.event("invoice.paid", world.snapshot(invoice))))
    workspace = reload(team)
    assert (workspace.billing_status, workspace.past_due_since) == ("active", None)


def test_a_failure_event_for_an_invoice_already_paid_sends_no_email(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    invoice = world.fake.put(so.invoice(customer=customer, subscription_id=sub["id"]))
    event = so.event("invoice.payment_failed", world.snapshot(invoice))
    invoice.update(status="paid", paid=True)  # paid before the event was processed

    with django_capture_on_commit_callbacks() as callbacks:
        ok(webhooks.deliver(event))

    assert emails(callbacks) == []
    assert state(team) == ("pro", 1, "active")


def test_after_the_grace_period_the_effective_plan_is_free(
    world: StripeWorld, webhooks: Webhooks, team: Any, settings: Any
) -> None:
    customer = world.checkout("team", seats=5)
    sub = world.subscription(customer, "team", quantity=5, status="past_due")
    ok(webhooks.deliver(so.event("customer.subscription.updated", world.snapshot(sub))))
    overview = team.client("owner").get(f"/api/v1/workspaces/{team.workspace.pk}/billing/")
    assert overview.json()["effective_plan"] == "team"
    assert overview.json()["grace_period_ends_at"] is not None

    # Eight days later (grace: 7)...
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        Workspace.objects.filter(pk=team.workspace.pk).update(
            past_due_since=timezone.now() - timedelta(days=8)
        )

    body = team.client("owner").get(f"/api/v1/workspaces/{team.workspace.pk}/billing/").json()
    assert (body["plan"], body["effective_plan"], body["status"]) == ("team", "free", "past_due")
    assert body["limits"]["members"] == settings.PLAN_LIMITS["free"]["members"]
    # ...and free's limits refuse what team allowed; nothing was deleted.
    response = team.client("owner").post(
        f"/api/v1/workspaces/{team.workspace.pk}/invitations/",
        {"email": "new@example.com", "role": "member"},
        format="json",
    )
    assert response.status_code == 402
    assert response.json()["error"]["limit"] == "members"
    assert body["usage"]["members"] == 4

    # A longer grace period configured later applies to the same workspace.
    settings.BILLING_PAST_DUE_GRACE_DAYS = 10
    assert reload(team).effective_plan == "team"


def test_trial_will_end_mails_once_per_trial(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.checkout("pro")
    trial_end = so.now() + 3 * 86400
    sub = world.subscription(customer, "pro", status="trialing", trial_end=trial_end)

    with django_capture_on_commit_callbacks() as callbacks:
        ok(webhooks.deliver(so.event("customer.subscription.trial_will_end", world.snapshot(sub))))
        ok(webhooks.deliver(so.event("customer.subscription.trial_will_end", world.snapshot(sub))))

    assert state(team) == ("pro", 1, "trialing")
    messages = emails(callbacks)
    assert len(messages) == 2  # owner and admin, once
    assert messages[0]["subject"] == "Your DB Workbench trial for Acme ends soon"
    assert "Add a payment method" in messages[0]["body"]
    body = team.client("owner").get(f"/api/v1/workspaces/{team.workspace.pk}/billing/").json()
    assert body["trial_end"] is not None


# --- deletion --------------------------------------------------------------------------------


def test_deleting_a_workspace_cancels_its_subscription_at_stripe(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from billing.tasks import subscriptions_cancel
    from workspaces import services
    from workspaces.models import Membership

    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    ok(webhooks.deliver(so.event("customer.subscription.created", world.snapshot(sub))))

    with (
        django_capture_on_commit_callbacks() as callbacks,
        db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk),
    ):
        owner = Membership.objects.select_related("workspace", "user").get(
            workspace=team.workspace, user=team.owner
        )
        services.workspace_delete(membership=owner)

    (queued,) = [
        cb for cb in callbacks if getattr(cb, "keywords", {}).get("args") == ([sub["id"]],)
    ]
    assert queued.func.__self__.name == subscriptions_cancel.name
    assert subscriptions_cancel.apply(args=([sub["id"]],)).get() == 1
    assert world.fake.calls("DELETE", f"/v1/subscriptions/{sub['id']}")
    assert world.fake.objects[sub["id"]]["status"] == "canceled"


def test_trial_ending_with_a_saved_card_says_the_plan_continues(
    world: StripeWorld, webhooks: Webhooks, team: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer = world.checkout("team", seats=4)
    world.fake.objects[customer]["invoice_settings"] = {"default_payment_method": "pm_card"}
    sub = world.subscription(customer, "team", quantity=4, status="trialing", trial_end=so.now())
    ok(webhooks.deliver(so.event("customer.updated", world.fake.objects[customer])))
    # dj-stripe re-synced the customer; bound to the workspace, it kept the link to it.
    with db_context(workspace_id=team.workspace.pk, user_id=None):
        assert Customer.objects.get(id=customer).subscriber_id == team.workspace.pk

    with django_capture_on_commit_callbacks() as callbacks:
        ok(webhooks.deliver(so.event("customer.subscription.trial_will_end", world.snapshot(sub))))

    (first, _second) = emails(callbacks)
    assert "saved payment method will be charged" in first["body"]


# --- end to end, in real transactions --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_payment_failed_email_goes_out_through_the_worker(
    world: StripeWorld, webhooks: Webhooks, team: Any, celery_worker: Any, settings: Any
) -> None:
    """Every request commits on its own, as in production: the webhook binds its workspace
    itself, and the email leaves through the real Celery worker (file backend in tests)."""
    mail_dir = Path(settings.EMAIL_FILE_PATH)
    before = set(mail_dir.glob("*")) if mail_dir.exists() else set()
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro", status="past_due")
    invoice = world.fake.put(so.invoice(customer=customer, subscription_id=sub["id"]))

    ok(webhooks.deliver(so.event("invoice.payment_failed", world.snapshot(invoice))))

    assert state(team) == ("pro", 1, "past_due")
    deadline = time.monotonic() + 20
    found: list[str] = []
    while time.monotonic() < deadline and len(found) < 2:
        found = [
            text
            for path in set(mail_dir.glob("*")) - before
            if "Payment failed for Acme" in (text := path.read_text(errors="replace"))
        ]
        time.sleep(0.2)
    assert len(found) == 2, "the owner and the admin each get one email"
    assert any("To: alice@example.com" in text for text in found)
