"""A member's account goes, their workspaces' AI usage stays: the month's quota was the
workspace's. The rows lose their member first, bound to the system operator: the deleting
transaction could not see (and so not update) other workspaces' rows under row-level security,
and the user's deletion would then fail on the foreign key."""

from __future__ import annotations

from typing import Any

from ai.models import AiUsage
from core.tenancy.system import system_context


def _on_user_deleting(sender: Any, user: Any, **kwargs: Any) -> None:
    with system_context():
        AiUsage.objects.filter(user_id=user.pk).update(user=None)


def connect() -> None:
    from accounts.signals import user_deleting

    user_deleting.connect(_on_user_deleting, dispatch_uid="ai.user_deleting")
