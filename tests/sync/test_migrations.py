"""sync/0004 (the secret delivery ledger) goes backwards and forwards again, as the owner role
the release runs migrations as, on a clone of the migrated template; forced row-level security
comes back with the table and the app role's grants follow (post_migrate)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings

from tests import dbtemplate
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _url(name: str) -> str:
    owner = settings.DATABASE_OWNER_URL or settings.DATABASE_URL
    return urlunsplit(urlsplit(owner)._replace(path=f"/{name}"))


def _migrate(name: str, *target: str) -> None:
    env = dict(os.environ, DATABASE_URL=_url(name), DJANGO_ENV="test")
    env.pop("DATABASE_TEST_NAME", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", *target, "--noinput", "--skip-checks", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _ledger_state(name: str) -> tuple[bool, bool] | None:
    with psycopg.connect(_url(name)) as conn:
        row = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = 'sync_secretdelivery'"
        ).fetchone()
    return (bool(row[0]), bool(row[1])) if row else None


def test_the_ledger_migration_reverses_and_reapplies(django_db_setup: None) -> None:
    owner = settings.DATABASE_OWNER_URL or settings.DATABASE_URL
    name = f"test_migrations_{uuid.uuid4().hex[:12]}"
    dbtemplate.create_test_database(owner, name)
    try:
        assert _ledger_state(name) == (True, True)
        _migrate(name, "sync", "0003")
        assert _ledger_state(name) is None
        _migrate(name, "sync")
        assert _ledger_state(name) == (True, True)
        with psycopg.connect(_url(name)) as conn:
            (grants,) = conn.execute(
                "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) "
                "FROM information_schema.role_table_grants "
                "WHERE table_name = 'sync_secretdelivery' AND grantee = %s",
                [settings.DATABASE_APP_ROLE],
            ).fetchone() or ("",)
        assert grants == "INSERT,SELECT"  # append-only: no UPDATE or DELETE
    finally:
        dbtemplate.drop_test_database(owner, name)
