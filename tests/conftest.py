"""Test set-up: the test database is created and migrated as the owner role, then every test
runs as the application role (no superuser, no BYPASSRLS), exactly as the service does, so
row-level security is in force in every test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis as redis_lib
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

pytest_plugins = ["tests.fakes.fixtures"]

ROOT = Path(__file__).resolve().parent.parent


def _credentials(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {"USER": parts.username or "", "PASSWORD": parts.password or ""}


def _switch_default(credentials: dict[str, str]) -> None:
    for alias in connections:
        connections[alias].close()
        # A pool made for the old credentials or database must not hand out its connections.
        connections[alias].close_pool()  # type: ignore[attr-defined]
    connections["default"].settings_dict.update(credentials)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker: Any) -> Iterator[None]:
    """Clone the test database from a migrated template (tests/dbtemplate.py) as the owner,
    then run every test as the app role."""
    from tests import dbtemplate

    owner_url = settings.DATABASE_OWNER_URL or settings.DATABASE_URL
    default = connections["default"].settings_dict
    name = (default.get("TEST") or {}).get("NAME") or f"test_{default['NAME']}"
    with django_db_blocker.unblock():
        dbtemplate.create_test_database(owner_url, name)
        default["NAME"] = name
        _switch_default(_credentials(settings.DATABASE_URL))
    yield
    with django_db_blocker.unblock():
        _switch_default(_credentials(owner_url))
        dbtemplate.drop_test_database(owner_url, name)


def pytest_configure(config: pytest.Config) -> None:
    _flush_as_owner()


def _flush_as_owner() -> None:
    """Transactional tests empty the tables with TRUNCATE after each test. TRUNCATE ignores
    row-level security, so the app role deliberately lacks it; the harness flushes as the owner
    over its own connection instead."""
    import psycopg
    from django.db.backends.base.operations import BaseDatabaseOperations
    from django.db.backends.postgresql.operations import DatabaseOperations

    def execute_sql_flush(self: BaseDatabaseOperations, sql_list: Iterable[str]) -> None:
        parts = urlsplit(settings.DATABASE_OWNER_URL or settings.DATABASE_URL)
        name = self.connection.settings_dict["NAME"]
        url = urlunsplit(parts._replace(path=f"/{name}"))
        statements = list(sql_list)
        # A Celery worker of the test may still be finishing a task (a chat title, an email)
        # when the flush starts; TRUNCATE then loses a deadlock or waits on its locks. The
        # worker's transaction is short: try again rather than leave the tables full.
        for attempt in range(1, 8):
            try:
                with psycopg.connect(url, autocommit=True) as owner, owner.transaction():
                    owner.execute("SET LOCAL lock_timeout = '5s'")
                    for statement in statements:
                        owner.execute(statement.encode())
                return
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
                if attempt == 7:
                    raise
                time.sleep(0.2 * attempt)

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]  # test-only hook


def app_database_url() -> str:
    """DATABASE_URL of the test database, as the application role."""
    parts = urlsplit(settings.DATABASE_URL)
    name = connections["default"].settings_dict["NAME"]
    return urlunsplit(parts._replace(path=f"/{name}"))


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app_database_url(),
        DJANGO_ENV="test",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DATABASE_TEST_NAME", None)
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {port} within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the real broker, using the test database."""
    from config.celery import app

    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"celery-test-{os.getpid()}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}")
        if app.control.ping(timeout=0.5):
            break
    else:
        stop(proc)
        raise RuntimeError("celery worker did not answer a ping within 30s")
    yield proc
    stop(proc)
    log.close()


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Each run writes under its own REDIS_KEY_PREFIX; leave nothing behind."""
    try:
        client = redis_lib.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{settings.REDIS_KEY_PREFIX}*", count=1000):
            client.delete(key)
        client.close()
    except redis_lib.RedisError:
        pass


@pytest.fixture
def api_client() -> APIClient:

    return APIClient()
