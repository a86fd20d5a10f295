"""Every plan limit refuses at its boundary, through the single plan-limits place
(workspaces.entitlements), for a workspace on each plan; team limits scale with seats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from core.exceptions import PaymentRequired
from core.tenancy import db_context
from workspaces.entitlements import LIMIT_NAMES, check_can_add_member, ensure_within_limit
from workspaces.models import BillingStatus, Plan, Workspace

PLANS = [("free", 1), ("pro", 1), ("team", 1), ("team", 3)]


def limit_for(plan: str, seats: int, name: str) -> int | None:
    entry = settings.PLAN_LIMITS[plan]
    value = entry[name]
    if value is not None and name in entry.get("per_seat", []):
        return int(value) * seats
    return value


CASES = [(plan, seats, name) for plan, seats in PLANS for name in LIMIT_NAMES]


@pytest.mark.parametrize(("plan", "seats", "name"), CASES)
def test_every_limit_refuses_at_its_boundary_on_every_plan(
    plan: str, seats: int, name: str
) -> None:
    workspace = Workspace(plan=plan, seats=seats)
    limit = limit_for(plan, seats, name)

    if limit is None:  # unlimited: nothing refuses
        ensure_within_limit(workspace, name, current=10**9)
        return
    ensure_within_limit(workspace, name, current=limit - 1)  # the last one fits
    ensure_within_limit(workspace, name, current=0, adding=limit)  # all at once fit
    with pytest.raises(PaymentRequired) as refused:
        ensure_within_limit(workspace, name, current=limit)
    with pytest.raises(PaymentRequired):
        ensure_within_limit(workspace, name, current=limit - 1, adding=2)

    error = refused.value
    assert (error.status_code, error.code) == (402, "plan_limit")
    assert error.extra == {"limit": name, "limit_value": limit, "current": limit, "plan": plan}


def test_team_limits_scale_with_seats_and_the_others_do_not() -> None:
    from workspaces.entitlements import entitlements_for

    one = entitlements_for(Workspace(plan="team", seats=1)).limits
    four = entitlements_for(Workspace(plan="team", seats=4)).limits
    for name in LIMIT_NAMES:
        single = one[name]
        if name in settings.PLAN_LIMITS["team"]["per_seat"]:
            assert single is not None
            assert four[name] == 4 * single, name
        else:
            assert four[name] == one[name], name
    assert four["members"] == 4


def test_the_effective_plan_decides_which_limits_apply() -> None:
    from workspaces.entitlements import entitlements_for

    now = timezone.now()
    cases = [
        (Workspace(plan=Plan.FREE, plan_override=Plan.TEAM, seats=5), "team"),  # comped
        (Workspace(plan=Plan.PRO, plan_override=Plan.FREE), "free"),  # override down, too
        (
            Workspace(plan=Plan.PRO, billing_status=BillingStatus.PAST_DUE, past_due_since=now),
            "pro",
        ),
        (
            Workspace(
                plan=Plan.PRO,
                billing_status=BillingStatus.PAST_DUE,
                past_due_since=now - timedelta(days=settings.BILLING_PAST_DUE_GRACE_DAYS),
            ),
            "free",
        ),
        (
            Workspace(
                plan=Plan.PRO,
                plan_override=Plan.PRO,
                billing_status=BillingStatus.PAST_DUE,
                past_due_since=now - timedelta(days=365),
            ),
            "pro",  # an override outranks the grace rule
        ),
    ]
    for workspace, plan in cases:
        assert workspace.effective_plan == plan
        assert entitlements_for(workspace).plan == plan


@pytest.mark.django_db
@pytest.mark.parametrize(("plan", "seats"), [("free", 1), ("pro", 1), ("team", 4), ("team", 5)])
def test_members_and_invitations_refuse_at_the_plan_boundary(
    team: Any, plan: str, seats: int
) -> None:
    """Through the API: the team fixture has 4 members."""
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        Workspace.objects.filter(pk=team.workspace.pk).update(plan=plan, seats=seats)
        workspace = Workspace.objects.get(pk=team.workspace.pk)
    limit = limit_for(plan, seats, "members")
    assert limit is not None
    invite_url = f"/api/v1/workspaces/{team.workspace.pk}/invitations/"
    owner = team.client("owner")

    created = 0
    while 4 + created < limit:
        response = owner.post(
            invite_url, {"email": f"n{created}@example.com", "role": "member"}, format="json"
        )
        assert response.status_code == 201, response.content
        created += 1
    response = owner.post(
        invite_url, {"email": "one-too-many@example.com", "role": "member"}, format="json"
    )

    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert (error["code"], error["limit"], error["limit_value"]) == ("plan_limit", "members", limit)
    assert error["plan"] == plan
    assert "Upgrade" in error["message"]
    with (
        db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk),
        pytest.raises(PaymentRequired),
    ):
        check_can_add_member(workspace)


@pytest.mark.django_db
def test_a_downgrade_keeps_everything_and_refuses_only_new_members(team: Any) -> None:
    """Team (10 seats, 4 members) canceled down to free (2 members): all 4 stay, none is added."""
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        Workspace.objects.filter(pk=team.workspace.pk).update(
            plan="free", seats=1, billing_status=BillingStatus.CANCELED
        )
    members = team.client("viewer").get(f"/api/v1/workspaces/{team.workspace.pk}/members/")
    assert members.status_code == 200
    assert len(members.json()["results"]) == 4
    response = team.client("admin").post(
        f"/api/v1/workspaces/{team.workspace.pk}/invitations/",
        {"email": "new@example.com", "role": "viewer"},
        format="json",
    )
    assert response.status_code == 402
    assert response.json()["error"]["limit"] == "members"
