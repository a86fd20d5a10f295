"""Shared by tests/connections, tests/queries, tests/chats and tests/portability: the team
fixture (alice the owner, adam the admin, bob the member, vera the viewer, charlie the
outsider), URL helpers, and a raw scan of the database for planted canaries."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, transaction

from core.tenancy import set_db_context
from tests.workspaces.conftest import Team, team

__all__ = ["Team", "all_tables_containing", "canary", "team", "url"]


def url(team: Team, path: str, workspace: Any = None) -> str:
    workspace = workspace or team.workspace
    return f"/api/v1/workspaces/{workspace.pk}/{path}"


def canary(label: str = "canary") -> str:
    return f"{label}-{uuid.uuid4().hex}"


def all_tables_containing(needle: str) -> list[str]:
    """Every table of the public schema whose rows, cast to text, contain `needle`. Runs as the
    app role bound to the system operator, so row-level security hides nothing."""
    from core.tenancy.system import SYSTEM_OPERATOR_ID

    found = []
    with transaction.atomic():
        set_db_context(workspace_id=None, user_id=None, operator_id=SYSTEM_OPERATOR_ID)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            tables = [name for (name,) in cursor.fetchall()]
            for table in tables:
                try:
                    with transaction.atomic():
                        cursor.execute(
                            f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s',
                            [f"%{needle}%"],
                        )
                        (count,) = cursor.fetchone()
                except Exception:  # a table the app role may not read (none expected)
                    found.append(f"{table} (unreadable)")
                    continue
                if count:
                    found.append(table)
    return found
