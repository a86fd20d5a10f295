"""The system's own path across workspaces, for beat tasks, management commands and clean-up
receivers.

Row-level security shows a transaction nothing unless it is bound to a workspace (and, for
private rows, to their author), or to an operator. Jobs that must walk every workspace (history
retention, key rotation) or remove every member's private rows (workspace and account deletion)
bind to the fixed SYSTEM_OPERATOR_ID: no user has that id and no request can set it (requests
bind through WorkspaceScopedApi or the audited admin middleware only).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from core.tenancy.db import OPERATOR_SETTING, USER_SETTING, WORKSPACE_SETTING, set_db_context

SYSTEM_OPERATOR_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _binding() -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), "
            "coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), '')",
            [WORKSPACE_SETTING, USER_SETTING, OPERATOR_SETTING],
        )
        row = cursor.fetchone() or ("", "", "")
    return str(row[0]), str(row[1]), str(row[2])


@contextmanager
def system_context(*, workspace_id: uuid.UUID | str | None = None) -> Iterator[None]:
    """A transaction (a savepoint when nested) bound to the system operator: every workspace's
    rows, private ones too; also to `workspace_id` when given, so that inserts pass the
    workspace policies' checks. A nested use restores the outer binding when it ends."""
    outer = None if connection.get_autocommit() else _binding()
    with transaction.atomic():
        set_db_context(workspace_id=workspace_id, user_id=None, operator_id=SYSTEM_OPERATOR_ID)
        try:
            yield
        finally:
            if outer is not None and not connection.needs_rollback:
                set_db_context(
                    workspace_id=outer[0] or None,
                    user_id=outer[1] or None,
                    operator_id=outer[2] or None,
                )
