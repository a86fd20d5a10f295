"""How billing takes part in the workspace life cycle (workspaces imports nothing here)."""

from __future__ import annotations

from typing import Any

from billing import services
from core.tasks import enqueue_on_commit
from workspaces import signals


def _on_workspace_deleting(sender: Any, workspace: Any, **kwargs: Any) -> None:
    """A deleted workspace stops paying: its live subscriptions are canceled at Stripe once the
    deletion commits (a rolled-back deletion cancels nothing)."""
    subscription_ids = services.workspace_subscriptions_cancel_ids(workspace=workspace)
    if subscription_ids:
        enqueue_on_commit("billing.subscriptions_cancel", subscription_ids)


def connect() -> None:
    signals.workspace_deleting.connect(_on_workspace_deleting, dispatch_uid="billing.deleting")
