"""Chats and messages are private to their author, so a workspace's or a user's deletion
cannot reach other members' rows through foreign-key cascades (row-level security hides them
from the deleting transaction). These receivers remove them first, bound to the system
operator."""

from __future__ import annotations

from typing import Any

from chats.models import Chat, ChatMessage
from core.tenancy.system import system_context


def _on_workspace_deleting(sender: Any, workspace: Any, **kwargs: Any) -> None:
    with system_context(workspace_id=workspace.pk):
        ChatMessage.objects.filter(workspace_id=workspace.pk).delete()
        Chat.objects.filter(workspace_id=workspace.pk).delete()


def _on_user_deleting(sender: Any, user: Any, **kwargs: Any) -> None:
    with system_context():
        ChatMessage.objects.filter(author_id=user.pk).delete()
        Chat.objects.filter(author_id=user.pk).delete()


def connect() -> None:
    from accounts.signals import user_deleting
    from workspaces.signals import workspace_deleting

    workspace_deleting.connect(_on_workspace_deleting, dispatch_uid="chats.workspace_deleting")
    user_deleting.connect(_on_user_deleting, dispatch_uid="chats.user_deleting")
