"""Privileges of the application's database role.

Migrations run as the owner role (DATABASE_OWNER_URL); the service runs as DATABASE_APP_ROLE,
which owns nothing, is no superuser and has NOBYPASSRLS, so row-level security binds it. After
every `migrate` this grants the app role what it needs on every table and sequence, then takes
back what append-only tables must never allow.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_migrate
from psycopg import sql

logger = logging.getLogger(__name__)

# Tables the application may insert into and read, but never change or delete from.
APPEND_ONLY_TABLES: set[str] = set()


def grant_app_role(**kwargs: Any) -> None:
    role = settings.DATABASE_APP_ROLE
    if not role:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            logger.warning("DATABASE_APP_ROLE %s does not exist; no privileges granted", role)
            return
        ident = sql.Identifier(role)
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(ident),
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(
                ident
            ),
            sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(ident),
        ]
        for table in sorted(APPEND_ONLY_TABLES):
            # A migration run backwards may have dropped it (sync/0004 reversed).
            cursor.execute("SELECT to_regclass(%s)", [f'public."{table}"'])
            found = cursor.fetchone()
            if found is None or found[0] is None:
                continue
            statements.append(
                sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                    sql.Identifier(table), ident
                )
            )
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))


def connect_signals() -> None:
    post_migrate.connect(grant_app_role, dispatch_uid="core.grant_app_role")


def role_problems() -> list[str]:
    """What is wrong with the role this process connects as (empty when it is safe)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        problems = []
        if row and row[0]:
            problems.append("is a superuser")
        if row and row[1]:
            problems.append("has BYPASSRLS")
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
            "AND tableowner = current_user"
        )
        owned = cursor.fetchone()
        if owned and owned[0]:
            problems.append(f"owns {owned[0]} tables")
        return problems
