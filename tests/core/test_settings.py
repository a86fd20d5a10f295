"""Settings fail loudly: each case starts a fresh interpreter with a broken environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# Every variable production requires, with harmless test values.
GOOD_PRODUCTION = {
    "ENCRYPTION_KEYS": "primary=k1;k1=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
    "JWT_PRIVATE_KEY": _rsa_pem(),
    "RESEND_API_KEY": "re_test_not_a_real_key",
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 30 + "abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "api.example.com",
    "PUBLIC_URL": "https://api.example.com",
    "DATABASE_URL": "postgresql://app@127.0.0.1:5432/db",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _base_env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return base


def _load(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    base = _base_env()
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + ";".join(extra)],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_good_production_settings_load() -> None:
    result = _load(GOOD_PRODUCTION, "from django.conf import settings", "print(settings.DEBUG)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is required"),
        ({"DATABASE_URL": None}, "DATABASE_URL is required"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must be a URL with scheme"),
        ({"REDIS_URL": None}, "REDIS_URL is required"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must not be on"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be a boolean"),
        ({"MAX_REQUEST_BYTES": "ten"}, "MAX_REQUEST_BYTES must be an integer"),
        ({"MAX_REQUEST_BYTES": "10"}, "MAX_REQUEST_BYTES must be >= 1024"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV must be one of"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"PUBLIC_URL": "http://api.example.com"}, "PUBLIC_URL must be a URL with scheme https"),
        ({"DATABASE_CONN_MAX_AGE": "60"}, "cannot be combined with the pool"),
        ({"DATABASE_POOL_MIN_SIZE": "30"}, "DATABASE_POOL_MIN_SIZE must not exceed"),
        ({"DATABASE_POOL_TIMEOUT": "0"}, "DATABASE_POOL_TIMEOUT must be > 0"),
    ],
)
def test_bad_environment_fails_loudly(change: dict[str, str | None], message: str) -> None:
    env = dict(GOOD_PRODUCTION)
    for key, value in change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    result = _load(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_malformed_url_error_does_not_echo_the_password() -> None:
    env = dict(GOOD_PRODUCTION, DATABASE_URL="mysql://app:hunter2secret@db/x")
    result = _load(env)
    assert result.returncode != 0
    assert "hunter2secret" not in result.stderr


def test_check_deploy_is_clean_under_production_settings() -> None:
    base = _base_env()
    base.update(GOOD_PRODUCTION)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_pool_is_configured_by_default_and_can_be_switched_off() -> None:
    show = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS'].get('pool'))"
    )
    pooled = _load(dict(GOOD_PRODUCTION), show)
    assert pooled.returncode == 0, pooled.stderr
    assert pooled.stdout.strip() == "{'min_size': 2, 'max_size': 20, 'timeout': 10.0}"
    plain = _load(
        {**GOOD_PRODUCTION, "DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "60"}, show
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "None"
