"""Operators: comping a workspace from the admin is audited; subscriptions are visible."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.tenancy import db_context
from tests.billing import stripe_objects as so
from tests.billing.conftest import StripeWorld, Webhooks
from tests.factories import UserFactory
from workspaces.audit import Action
from workspaces.models import AuditEvent, Membership, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    user: Any = UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


def change_form(workspace: Workspace, **changes: Any) -> dict[str, Any]:
    """The POST the admin's change form sends, memberships inline included."""
    with db_context(workspace_id=workspace.pk, user_id=None):
        workspace = Workspace.objects.get(pk=workspace.pk)
        memberships = list(Membership.objects.filter(workspace=workspace).order_by("created_at"))
    data: dict[str, Any] = {
        "name": workspace.name,
        "slug": workspace.slug,
        "is_personal": "on" if workspace.is_personal else None,
        "plan_override": workspace.plan_override,
        "seats": workspace.seats,
        "sync_conflict_policy": workspace.sync_conflict_policy,
        "sync_secrets": "on" if workspace.sync_secrets else None,
        "ai_approve_all_sql": None,
        "history_retention_days": "",
        "memberships-TOTAL_FORMS": len(memberships),
        "memberships-INITIAL_FORMS": len(memberships),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for index, membership in enumerate(memberships):
        data[f"memberships-{index}-id"] = membership.pk
        data[f"memberships-{index}-workspace"] = workspace.pk
        data[f"memberships-{index}-user"] = membership.user_id
        data[f"memberships-{index}-role"] = membership.role
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}  # unchecked boxes are not sent


def overrides(workspace: Workspace) -> list[AuditEvent]:
    with db_context(workspace_id=workspace.pk, user_id=None):
        return list(
            AuditEvent.objects.filter(workspace_id=workspace.pk, action=Action.PLAN_OVERRIDDEN)
        )


def test_comping_a_workspace_sets_its_effective_plan_and_is_audited(
    team: Any, operator: Client
) -> None:
    url = f"/admin/workspaces/workspace/{team.workspace.pk}/change/"
    response = operator.post(url, change_form(team.workspace, plan_override="pro"))
    assert response.status_code == 302, response.content.decode()[:2000]

    with db_context(workspace_id=team.workspace.pk, user_id=None):
        workspace = Workspace.objects.get(pk=team.workspace.pk)
    assert (workspace.plan, workspace.plan_override, workspace.effective_plan) == (
        "team",
        "pro",
        "pro",
    )
    (event,) = overrides(workspace)
    assert event.actor_email == "ops@example.com"
    assert event.metadata == {
        "changed": {"plan_override": ["", "pro"]},
        "effective_plan": "pro",
    }

    # Saving without a change writes nothing; clearing the comp is audited again.
    operator.post(url, change_form(workspace))
    assert len(overrides(workspace)) == 1
    response = operator.post(url, change_form(workspace, plan_override=""))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert len(overrides(workspace)) == 2


def test_the_plan_itself_follows_stripe_and_cannot_be_edited(team: Any, operator: Client) -> None:
    url = f"/admin/workspaces/workspace/{team.workspace.pk}/change/"
    operator.post(url, change_form(team.workspace, plan="free", billing_status="active"))
    with db_context(workspace_id=team.workspace.pk, user_id=None):
        workspace = Workspace.objects.get(pk=team.workspace.pk)
    assert (workspace.plan, workspace.billing_status) == ("team", "none")


def test_subscriptions_are_visible_in_the_admin(
    world: StripeWorld, webhooks: Webhooks, operator: Client
) -> None:
    customer = world.checkout("pro")
    sub = world.subscription(customer, "pro")
    assert webhooks.deliver(so.event("customer.subscription.created", sub)).status_code == 200

    listing = operator.get("/admin/djstripe/subscription/")
    assert listing.status_code == 200
    assert sub["id"] in listing.content.decode()
    customers = operator.get("/admin/djstripe/customer/")
    assert customer in customers.content.decode()
