"""Tenancy: the workspace is the tenant.

Two independent locks keep tenants apart:

1. Application code reaches tenant rows only through scoped querysets (see
   `workspaces.api.WorkspaceScopedApi`), which filter on `workspace_id`.
2. PostgreSQL row-level security, FORCED on every tenant table, compares each row's
   `workspace_id` (and, for rows private to one member, `author_id`) with settings that live only
   for the current transaction: `app.workspace_id` and `app.user_id`. A query that forgets its
   filter returns nothing rather than another tenant's rows.

This module sets those transaction-local settings.
"""

from core.tenancy.db import (
    OPERATOR_SETTING,
    USER_SETTING,
    WORKSPACE_SETTING,
    current_db_context,
    db_context,
    set_db_context,
)

__all__ = [
    "OPERATOR_SETTING",
    "USER_SETTING",
    "WORKSPACE_SETTING",
    "current_db_context",
    "db_context",
    "set_db_context",
]
