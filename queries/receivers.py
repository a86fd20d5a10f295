"""Query history is private to its author, so a workspace's or a user's deletion cannot reach
other members' rows through foreign-key cascades (row-level security hides them from the
deleting transaction). These receivers remove them first, bound to the system operator."""

from __future__ import annotations

from typing import Any

from core.tenancy.system import system_context
from queries.models import QueryHistory


def _on_workspace_deleting(sender: Any, workspace: Any, **kwargs: Any) -> None:
    with system_context(workspace_id=workspace.pk):
        QueryHistory.objects.filter(workspace_id=workspace.pk).delete()


def _on_user_deleting(sender: Any, user: Any, **kwargs: Any) -> None:
    with system_context():
        QueryHistory.objects.filter(author_id=user.pk).delete()


def connect() -> None:
    from accounts.signals import user_deleting
    from workspaces.signals import workspace_deleting

    workspace_deleting.connect(_on_workspace_deleting, dispatch_uid="queries.workspace_deleting")
    user_deleting.connect(_on_user_deleting, dispatch_uid="queries.user_deleting")
