"""Test databases cloned from a migrated template.

Migrating from scratch takes about a minute (dj-stripe and allauth bring many migrations), so
the first run migrates a template database once, as the owner role, and every run after clones
it with CREATE DATABASE ... TEMPLATE, which takes a second. The template's name carries a hash
of everything that shapes the schema (every migration file, the lock file, the policy helpers),
so any change to them builds a fresh template; stale ones are dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "dbw_tpl_"
LOCK_KEY = 7_402_881_113  # pg_advisory_lock key serialising template builds


def schema_hash() -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in ROOT.glob("*/migrations/*.py") if ".venv" not in p.parts)
    files += [
        ROOT / "uv.lock",
        ROOT / "core" / "tenancy" / "operations.py",
        ROOT / "core" / "db_roles.py",
    ]
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    digest.update(os.environ.get("DATABASE_APP_ROLE", "").encode())
    return digest.hexdigest()[:16]


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _migrate(owner_url: str, name: str) -> None:
    env = dict(os.environ, DATABASE_URL=_with_db(owner_url, name), DJANGO_ENV="test")
    env.pop("DATABASE_TEST_NAME", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrating the test template failed:\n{result.stdout}{result.stderr}")


def create_test_database(owner_url: str, name: str) -> None:
    template = PREFIX + schema_hash()
    building = template + "_building"
    with psycopg.connect(_with_db(owner_url, "postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [template]
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                try:
                    _migrate(owner_url, building)
                except Exception:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building))
                    )
                    raise
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(template)
                    )
                )
                _drop_stale_templates(conn, keep=template)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _drop_stale_templates(conn: psycopg.Connection, *, keep: str) -> None:
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
        [PREFIX + "%", keep],
    ).fetchall()
    for (stale,) in rows:
        # One in use (a run on another checkout) goes next time.
        with contextlib.suppress(psycopg.Error):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(stale)))


def drop_test_database(owner_url: str, name: str) -> None:
    """Drop the run's database. Servers and workers the run started kept pooled connections as
    the app role, which the owner may not terminate; they were stopped just before, and their
    sessions end a moment after their processes do, so wait for that."""
    deadline = time.monotonic() + 30
    with psycopg.connect(_with_db(owner_url, "postgres"), autocommit=True) as conn:
        while True:
            try:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                return
            except psycopg.errors.InsufficientPrivilege:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
