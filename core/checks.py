from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags
from django.core.checks import register as _register


def app_role_check(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    """`manage.py check --database default`: the runtime role must be bound by RLS."""
    if not databases or "default" not in databases:
        return []
    from core.db_roles import role_problems

    problems = role_problems()
    if not problems:
        return []
    return [
        Error(
            "The database role in DATABASE_URL " + ", ".join(problems) + ".",
            hint="Connect as a role with NOSUPERUSER NOBYPASSRLS that owns no table; run "
            "migrations as the owner role (DATABASE_OWNER_URL).",
            id="core.E001",
        )
    ]


def register() -> None:
    _register(app_role_check, Tags.database)
