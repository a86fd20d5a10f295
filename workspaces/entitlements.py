"""The single place that answers "may this workspace have another X?".

Limits come from the workspace's plan (`PLAN_LIMITS` in settings, overridable from the
environment; billing sets the plan). A limit of None is unlimited. Callers count what they
have and ask here; the answer is a 402 `plan_limit` error that names the limit, so clients can
show an upgrade prompt. Downgrades keep existing data: only creating beyond a limit is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.exceptions import PaymentRequired

LIMIT_NAMES = (
    "members",
    "connections",
    "saved_queries",
    "sync_devices",
    "ai_requests_per_month",
    "ai_tokens_per_month",
    "history_retention_days",
)


@dataclass(frozen=True)
class Entitlements:
    plan: str
    limits: dict[str, int | None]

    def limit(self, name: str) -> int | None:
        if name not in LIMIT_NAMES:
            raise KeyError(name)
        return self.limits.get(name)


def entitlements_for(workspace: Any) -> Entitlements:
    plan = getattr(workspace, "effective_plan", None) or workspace.plan
    table: dict[str, dict[str, Any]] = settings.PLAN_LIMITS
    limits = dict(table.get(plan) or table["free"])
    seats = max(int(getattr(workspace, "seats", 1) or 1), 1)
    for name in limits.pop("per_seat", []):
        if limits.get(name) is not None:
            limits[name] = int(limits[name]) * seats
    return Entitlements(plan=plan, limits=limits)


_LABELS = {
    "members": "members",
    "connections": "connections",
    "saved_queries": "saved queries",
    "sync_devices": "synced devices",
    "ai_requests_per_month": "AI requests this month",
    "ai_tokens_per_month": "AI tokens this month",
}


def ensure_within_limit(workspace: Any, name: str, *, current: int, adding: int = 1) -> None:
    """Raise 402 `plan_limit` when `current + adding` would exceed the plan's limit `name`."""
    entitlements = entitlements_for(workspace)
    limit = entitlements.limit(name)
    if limit is None or current + adding <= limit:
        return
    raise PaymentRequired(
        f"Your {entitlements.plan} plan allows {limit} {_LABELS.get(name, name)}. "
        "Upgrade the workspace's plan to add more.",
        code="plan_limit",
        extra={"limit": name, "limit_value": limit, "current": current, "plan": entitlements.plan},
    )


def check_can_add_member(workspace: Any, *, pending_excluded: object = None) -> None:
    """Members plus pending invitations may not exceed the plan's seats."""
    from workspaces.models import Invitation, InvitationStatus, Membership

    members = Membership.objects.filter(workspace_id=workspace.pk).count()
    pending = Invitation.objects.filter(workspace_id=workspace.pk, status=InvitationStatus.PENDING)
    if pending_excluded is not None:
        pending = pending.exclude(pk=str(pending_excluded))
    ensure_within_limit(workspace, "members", current=members + pending.count())


def _live_rows(entity: str, workspace: Any) -> int:
    # Through the entity registry, so this module imports no data app (they import it).
    from core.entities import adapter_for

    adapter = adapter_for(entity)
    if adapter is None:  # pragma: no cover - the data app is not installed
        return 0
    # Every synced model has a workspace; the abstract base does not declare it.
    manager: Any = adapter.model._default_manager
    return int(manager.filter(workspace_id=workspace.pk, deleted=False).count())


def check_can_create_connection(workspace: Any, *, adding: int = 1) -> None:
    """402 `plan_limit` when `adding` more connections would exceed the plan (tombstones do not
    count). Call it after reserving the workspace's versions, which serialises its writers."""
    ensure_within_limit(
        workspace, "connections", current=_live_rows("connection", workspace), adding=adding
    )


def check_can_create_saved_query(workspace: Any, *, adding: int = 1) -> None:
    """402 `plan_limit` when `adding` more saved queries would exceed the plan."""
    ensure_within_limit(
        workspace, "saved_queries", current=_live_rows("saved_query", workspace), adding=adding
    )


def history_retention_days(workspace: Any) -> int | None:
    """Days query history is kept: the workspace's own setting, capped by its plan's."""
    plan_days = entitlements_for(workspace).limit("history_retention_days")
    own: int | None = getattr(workspace, "history_retention_days", None)
    if own is None:
        return plan_days
    return own if plan_days is None else min(own, plan_days)
