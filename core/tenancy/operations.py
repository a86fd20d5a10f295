"""Migration operations that put a table under forced row-level security.

    migrations.RunPython(...)  # no: use
    TenantRLS("connections_connection")                       # rows of one workspace
    TenantRLS("queries_queryhistory", private_column="author_id")  # and of one member

`current_setting` is wrapped in a sub-select so PostgreSQL evaluates it once per statement
(an InitPlan), not once per row, and `nullif(…, '')` turns the empty string that a finished
transaction leaves behind into NULL, which matches no row.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

WORKSPACE_EXPR = "(SELECT nullif(current_setting('app.workspace_id', true), '')::uuid)"
USER_EXPR = "(SELECT nullif(current_setting('app.user_id', true), '')::uuid)"
OPERATOR_EXPR = "(SELECT coalesce(current_setting('app.operator_id', true), '') <> '')"

POLICY_NAME = "tenant_isolation"


def tenant_predicate(
    workspace_column: str = "workspace_id", private_column: str | None = None
) -> str:
    predicate = f"{workspace_column} = {WORKSPACE_EXPR}"
    if private_column:
        predicate += f" AND {private_column} = {USER_EXPR}"
    return f"(({predicate}) OR {OPERATOR_EXPR})"


def enable_rls_sql(
    table: str,
    *,
    using: str,
    check: str | None = None,
) -> list[str]:
    check = check or using
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'CREATE POLICY {POLICY_NAME} ON "{table}" USING {using} WITH CHECK {check}',
    ]


def disable_rls_sql(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


class TenantRLS(migrations.RunSQL):
    """Enable and force RLS on a tenant table with the standard policy (reversible)."""

    def __init__(
        self,
        table: str,
        *,
        private_column: str | None = None,
        using: str | None = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        using = using or tenant_predicate(private_column=private_column)
        super().__init__(
            sql=list[Any](enable_rls_sql(table, using=using, check=check)),
            reverse_sql=list[Any](disable_rls_sql(table)),
            **kwargs,
        )
        self.table = table

    def describe(self) -> str:
        return f"Force row-level security on {self.table}"


class SyncGuard(migrations.RunSQL):
    """Attach core_sync_guard to a synced table: writes that skipped VersionClock fail."""

    def __init__(self, table: str, **kwargs: Any) -> None:
        trigger = f"{table}_sync_guard"
        super().__init__(
            sql=(
                f'CREATE TRIGGER "{trigger}" BEFORE INSERT OR UPDATE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION core_sync_guard()"
            ),
            reverse_sql=f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}"',
            **kwargs,
        )
        self.table = table

    def describe(self) -> str:
        return f"Guard sync versioning on {self.table}"
