"""The accounts settings block fails loudly on a missing or malformed value."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ROOT


def _pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


PEM = _pem()

GOOD = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 30 + "abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "api.example.com",
    "PUBLIC_URL": "https://api.example.com",
    "DATABASE_URL": "postgresql://app@127.0.0.1:5432/db",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ENCRYPTION_KEYS": "primary=k1;k1=" + base64.b64encode(bytes(range(1, 33))).decode(),
    "JWT_PRIVATE_KEY": PEM.replace("\n", "\\n"),  # as a secrets store may flatten it
    "RESEND_API_KEY": "re_live_x",
}


def _load(env: dict[str, str | None], *statements: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    for key, value in {**GOOD, **env}.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    code = "import django; django.setup(); from django.conf import settings; " + ";".join(
        statements
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_good_production_settings() -> None:
    result = _load(
        {"GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "g-secret"},
        "print(sorted(settings.SOCIALACCOUNT_PROVIDERS))",
        "print(settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN)",
        "print(settings.EMAIL_BACKEND)",
        "print(settings.HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == [
        "['google']",
        "600",
        "accounts.email.ResendEmailBackend",
        "True",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"JWT_PRIVATE_KEY": None}, "JWT_PRIVATE_KEY is required"),
        ({"JWT_PRIVATE_KEY": "not a key"}, "JWT_PRIVATE_KEY must be an unencrypted PEM"),
        ({"JWT_PRIVATE_KEY": _pem(1024)}, "2048 bits or more"),
        ({"JWT_ACCESS_TOKEN_LIFETIME": "3600"}, "JWT_ACCESS_TOKEN_LIFETIME must be <= 900"),
        ({"RESEND_API_KEY": None}, "RESEND_API_KEY is required"),
        ({"EMAIL_BACKEND": "smtp"}, "EMAIL_BACKEND must be one of"),
        ({"APP_DEEP_LINK_SCHEME": "https"}, "APP_DEEP_LINK_SCHEME must be a custom URL scheme"),
        ({"GOOGLE_CLIENT_ID": "only-the-id"}, "GOOGLE_CLIENT_SECRET is required"),
        ({"GITHUB_CLIENT_SECRET": "only-the-secret"}, "GITHUB_CLIENT_ID is required"),
        ({"GUEST_IDLE_DAYS": "0"}, "GUEST_IDLE_DAYS must be >= 1"),
        ({"WEB_APP_URL": "http://app.example.com"}, "WEB_APP_URL must be a URL with scheme https"),
    ],
)
def test_bad_values_fail_loudly(change: dict[str, str | None], message: str) -> None:
    result = _load(change)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert "BEGIN" not in result.stderr  # a key is never echoed


def test_unconfigured_providers_are_absent() -> None:
    result = _load({}, "print(settings.SOCIALACCOUNT_PROVIDERS)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{}"
