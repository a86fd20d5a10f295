"""What a workspace uses of each plan limit, for the billing overview.

Limits are enforced elsewhere, in one place: `workspaces.entitlements.ensure_within_limit`,
called by whichever service creates the thing (members and invitations already do). This module
only reports. Members, connections and saved queries are counted here; the apps that own the
other limits register a counter from their AppConfig.ready, and a limit without one reports
None ("not measured"):

    from billing.usage import register_usage_counter

    register_usage_counter("sync_devices", lambda workspace: Device.objects.filter(
        workspace_id=workspace.pk, revoked_at__isnull=True).count())

Counters run inside the request's transaction, bound to the workspace (row-level security).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workspaces.entitlements import LIMIT_NAMES

UsageCounter = Callable[[Any], "int | None"]

_COUNTERS: dict[str, UsageCounter] = {}


def register_usage_counter(name: str, counter: UsageCounter) -> None:
    """Report `counter(workspace)` as the usage of limit `name` (one counter per limit)."""
    if name not in LIMIT_NAMES:
        raise KeyError(f"unknown plan limit {name!r}; known: {', '.join(LIMIT_NAMES)}")
    _COUNTERS[name] = counter


def members_in_use(workspace: Any) -> int:
    """Members plus pending invitations: what `check_can_add_member` counts against the limit."""
    from workspaces.models import Invitation, InvitationStatus, Membership

    members = Membership.objects.filter(workspace_id=workspace.pk).count()
    pending = Invitation.objects.filter(
        workspace_id=workspace.pk, status=InvitationStatus.PENDING
    ).count()
    return members + pending


def _live_rows(entity: str) -> UsageCounter:
    """Rows of a synced entity that are not tombstones, as entitlements' check_can_create_*
    count them (through the entity registry: billing imports no data app)."""

    def count(workspace: Any) -> int | None:
        from core.entities import adapter_for

        adapter = adapter_for(entity)
        if adapter is None:
            return None
        # Any: the registry types models as the abstract SyncedModel, which has no workspace.
        rows: Any = adapter.model._default_manager
        return int(rows.filter(workspace_id=workspace.pk, deleted=False).count())

    return count


_COUNTERS["members"] = members_in_use
_COUNTERS["connections"] = _live_rows("connection")
_COUNTERS["saved_queries"] = _live_rows("saved_query")


def usage_for(workspace: Any) -> dict[str, int | None]:
    """Current usage per limit name; None where nothing measures it (yet)."""
    usage: dict[str, int | None] = {}
    for name in LIMIT_NAMES:
        if name == "history_retention_days":
            continue  # a setting, not a count
        counter = _COUNTERS.get(name)
        usage[name] = counter(workspace) if counter is not None else None
    return usage
