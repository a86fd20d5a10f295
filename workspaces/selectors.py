"""Reads on workspaces. Every function takes the workspace (or user) it reads for."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from workspaces.models import AuditEvent, Invitation, Membership, Workspace


def memberships_of(*, user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user.pk).select_related("workspace")


def workspace(*, workspace_id: uuid.UUID) -> Workspace:
    return Workspace.objects.get(pk=workspace_id)


def members(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace_id=workspace.pk).select_related("user")


def invitations(*, workspace: Workspace, status: str = "pending") -> QuerySet[Invitation]:
    queryset = Invitation.objects.filter(workspace_id=workspace.pk)
    if status != "all":
        queryset = queryset.filter(status=status)
    return queryset


def audit_events(
    *,
    workspace: Workspace,
    action: str | None = None,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.filter(workspace_id=workspace.pk)
    if action:
        queryset = (
            queryset.filter(action__startswith=action)
            if action.endswith(".")
            else queryset.filter(action=action)
        )
    if actor_id:
        queryset = queryset.filter(actor_id=actor_id)
    if target_type:
        queryset = queryset.filter(target_type=target_type)
    if target_id:
        queryset = queryset.filter(target_id=target_id)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    if until:
        queryset = queryset.filter(created_at__lt=until)
    return queryset
