"""History retention: the beat task purges, per workspace, history older than the workspace's
setting capped by its plan's, every author's rows, in batches; nothing else. Charlie's workspace
follows its own (free plan) rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from core.entity_writes import entity_create
from core.tenancy import db_context
from core.tenancy.system import system_context
from queries import services, tasks
from queries.entity import QueryHistoryEntity
from queries.models import QueryHistory
from tests.connections.helpers import Team
from workspaces import entitlements

pytestmark = pytest.mark.django_db


def _history(
    workspace: Any, user: Any, sql: str, *, days_ago: float | None, created_days_ago: float = 0
) -> None:
    now = timezone.now()
    with db_context(workspace_id=workspace.pk, user_id=user.pk):
        entity_create(
            QueryHistoryEntity,
            workspace_id=workspace.pk,
            user=user,
            fields={
                "sql": sql,
                "executed_at": None
                if days_ago is None
                else (now - timedelta(days=days_ago)).isoformat(),
            },
            writer="test",
            created_at=now - timedelta(days=created_days_ago),
        )


def _left(workspace: Any) -> list[str]:
    with system_context(workspace_id=workspace.pk):
        return sorted(
            QueryHistoryEntity.read(row, "sql")
            for row in QueryHistory.objects.filter(workspace_id=workspace.pk)
        )


def test_retention_days_are_the_workspace_setting_capped_by_the_plan(team: Team) -> None:
    assert entitlements.history_retention_days(team.workspace) == 730  # team plan
    team.workspace.history_retention_days = 7
    assert entitlements.history_retention_days(team.workspace) == 7
    team.other_workspace.history_retention_days = 3650
    assert entitlements.history_retention_days(team.other_workspace) == 30  # free plan caps


def test_task_purges_old_history_of_every_author(team: Team) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        team.workspace.history_retention_days = 7
        team.workspace.save(update_fields=["history_retention_days"])
    _history(team.workspace, team.member, "bob old", days_ago=8)
    _history(team.workspace, team.admin, "adam old", days_ago=100)
    _history(team.workspace, team.member, "bob new", days_ago=6)
    _history(team.workspace, team.viewer, "vera no time, old", days_ago=None, created_days_ago=9)
    _history(team.workspace, team.viewer, "vera no time, new", days_ago=None)
    _history(team.other_workspace, team.outsider, "charlie 20 days", days_ago=20)
    _history(team.other_workspace, team.outsider, "charlie 40 days", days_ago=40)

    purged = tasks.enforce_history_retention.apply().get()
    assert purged == 4
    assert _left(team.workspace) == ["bob new", "vera no time, new"]
    assert _left(team.other_workspace) == ["charlie 20 days"]
    # Idempotent: a redelivered run finds nothing.
    assert tasks.enforce_history_retention.apply().get() == 0


def test_purge_runs_in_batches(team: Team) -> None:
    for i in range(7):
        _history(team.workspace, team.member, f"old {i}", days_ago=1000)
    _history(team.workspace, team.member, "recent", days_ago=1)
    deleted = services.history_purge_expired(
        workspace_id=team.workspace.pk,
        older_than=timezone.now() - timedelta(days=730),
        batch_size=3,
    )
    assert deleted == 7
    assert _left(team.workspace) == ["recent"]


def test_beat_schedule_has_the_task() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["queries.enforce_history_retention"]
    assert entry["task"] == tasks.enforce_history_retention.name
    assert entry["schedule"] == timedelta(hours=24)


def test_outsider_history_is_never_touched_by_another_workspace_rule(team: Team) -> None:
    _history(team.other_workspace, team.outsider, "charlie 10 days", days_ago=10)
    services.history_purge_expired(
        workspace_id=team.workspace.pk, older_than=timezone.now() + timedelta(days=1)
    )
    assert _left(team.other_workspace) == ["charlie 10 days"]
