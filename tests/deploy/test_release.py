"""bin/release (fly.toml's release_command) against the test database: it migrates as the owner
role, then fails the deploy when the role the service runs as could bypass row-level security."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connections

import tests.conftest as harness
from tests.deploy.deployfiles import DOCKERFILE, dockerfile_stages, find_run, inline_environment

RELEASE = harness.ROOT / "bin" / "release"


@pytest.fixture
def release_env(django_db_setup: None, tmp_path: Path) -> dict[str, str]:
    """What the release machine gets: production settings, the app's roles and stand-ins for the
    other secrets (the Dockerfile's build-time values)."""
    if not settings.DATABASE_OWNER_URL:
        pytest.skip("needs DATABASE_OWNER_URL (two roles)")
    # The image puts its venv first on PATH; here that is the venv running the tests.
    base = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
    }
    runtime = dockerfile_stages(DOCKERFILE.read_text())[-1]
    build_env = inline_environment(
        find_run(runtime, "collectstatic").args, "collectstatic", env=base, cwd=harness.ROOT
    )
    name = connections["default"].settings_dict["NAME"]
    # migrate runs for real: never against anything but this run's test database.
    assert name == connections["default"].settings_dict["TEST"]["NAME"] or name.startswith("test_")
    owner = urlunsplit(urlsplit(settings.DATABASE_OWNER_URL)._replace(path=f"/{name}"))
    app_url = harness.app_database_url()
    return {
        **base,
        **build_env,
        "DATABASE_URL": app_url,
        "DATABASE_OWNER_URL": owner,
        "DATABASE_APP_ROLE": settings.DATABASE_APP_ROLE or (urlsplit(app_url).username or ""),
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }


def _release(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RELEASE)],
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )


# django_db: pytest-django creates the test database only for a session that has such a test.
@pytest.mark.slow
@pytest.mark.django_db
def test_release_migrates_as_owner_and_passes_with_the_app_role(
    release_env: dict[str, str],
) -> None:
    result = _release(release_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "migrating as the owner role" in output
    assert "core.E001" not in output
    assert "security.W" not in output
    assert "release: done" in output


@pytest.mark.slow
@pytest.mark.django_db
def test_release_fails_when_the_service_role_owns_the_tables(
    release_env: dict[str, str],
) -> None:
    # A service connecting as the owner would not be bound by row-level security.
    result = _release({**release_env, "DATABASE_URL": release_env["DATABASE_OWNER_URL"]})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "core.E001" in output
    assert "owns" in output
    assert "release: done" not in output


def test_release_refuses_to_migrate_without_the_owner_role(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATABASE_URL": "postgresql://app@127.0.0.1:1/none",
        "DATABASE_APP_ROLE": "app",
    }
    result = _release(env)
    assert result.returncode != 0
    assert "DATABASE_OWNER_URL" in result.stderr
    assert "migrating" not in result.stdout
