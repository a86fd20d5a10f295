from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from core import context

WORKSPACE_SETTING = "app.workspace_id"
USER_SETTING = "app.user_id"
# Set only by the audited Django-admin path (workspaces.admin_access); never by an API request.
OPERATOR_SETTING = "app.operator_id"


def _text(value: uuid.UUID | str | None) -> str:
    if value is None:
        return ""
    return str(uuid.UUID(str(value)))  # validates: nothing but a UUID reaches the setting


def set_db_context(
    *,
    workspace_id: uuid.UUID | str | None,
    user_id: uuid.UUID | str | None,
    operator_id: uuid.UUID | str | None = None,
) -> None:
    """Bind the current transaction to a workspace and user for row-level security.

    The settings are transaction-local (`set_config(..., true)`): they vanish at commit or
    rollback, so a pooled connection never carries them into the next request. Must be called
    inside a transaction; outside one the settings would last a single statement.
    """
    if connection.get_autocommit():
        raise RuntimeError("set_db_context() must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true), set_config(%s, %s, true)",
            [
                WORKSPACE_SETTING,
                _text(workspace_id),
                USER_SETTING,
                _text(user_id),
                OPERATOR_SETTING,
                _text(operator_id),
            ],
        )
    context.update(
        workspace_id=_text(workspace_id) or "-",
        user_id=_text(user_id) or context.current().user_id,
    )


def current_db_context() -> tuple[str, str]:
    """(workspace_id, user_id) as the database sees them now; '' when unset."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), "
            "coalesce(current_setting(%s, true), '')",
            [WORKSPACE_SETTING, USER_SETTING],
        )
        workspace_id, user_id = cursor.fetchone() or ("", "")
    return str(workspace_id), str(user_id)


@contextmanager
def db_context(
    *, workspace_id: uuid.UUID | str | None, user_id: uuid.UUID | str | None
) -> Iterator[None]:
    """A transaction bound to a workspace and user: for Celery tasks, commands and services.

    Nested use inside an outer transaction opens a savepoint and re-binds the settings, then
    restores the outer binding when it ends.
    """
    outer = None if connection.get_autocommit() else current_db_context()
    with transaction.atomic():
        set_db_context(workspace_id=workspace_id, user_id=user_id)
        try:
            yield
        finally:
            if outer is not None and not connection.needs_rollback:
                set_db_context(workspace_id=outer[0] or None, user_id=outer[1] or None)
