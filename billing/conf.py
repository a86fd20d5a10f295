"""Parsers for the billing settings in config/settings/billing.py.

Pure functions with no Django model imports, so settings can call them and tests can call them
with a made-up environment. Errors raise ImproperlyConfigured naming the variable and never echo
a secret.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from core.env import REQUIRED, env_bool, env_str

# A fixed default keeps development and test set-up free of steps; production may pick its own.
# The path is not a secret: every delivery is checked against the endpoint's signing secret.
DEFAULT_WEBHOOK_UUID = "6f1c7c8e-3d0a-4b7e-9a53-2f0d8e1b5c47"


@dataclass(frozen=True)
class StripeSettings:
    enabled: bool
    live_mode: bool
    live_secret_key: str
    test_secret_key: str
    webhook_secret: str
    webhook_uuid: str


def _secret_key(name: str, value: str, mode: str) -> str:
    # The shape dj-stripe accepts (djstripe.models.api.API_KEY_REGEX), in the variable's mode.
    if value and not re.fullmatch(rf"(sk|rk)_{mode}_[a-zA-Z0-9]{{24,}}", value):
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a Stripe {mode}-mode secret or restricted key "
            f"(sk_{mode}_… or rk_{mode}_…)."
        )
    return value


def load_stripe_settings(
    *, production: bool, environ: Mapping[str, str] | None = None
) -> StripeSettings:
    """BILLING_ENABLED, STRIPE_LIVE_MODE, the secret key of each mode, STRIPE_WEBHOOK_SECRET and
    BILLING_WEBHOOK_UUID. In production with billing enabled, the secret key of the selected
    mode and the webhook secret are required; otherwise nothing is."""
    enabled = env_bool("BILLING_ENABLED", False, environ=environ)
    required = REQUIRED if production and enabled else None
    live_mode = env_bool("STRIPE_LIVE_MODE", False, environ=environ)
    live_key = env_str("STRIPE_LIVE_SECRET_KEY", required if live_mode else None, environ=environ)
    test_key = env_str("STRIPE_TEST_SECRET_KEY", None if live_mode else required, environ=environ)
    webhook_secret = env_str("STRIPE_WEBHOOK_SECRET", required, environ=environ) or ""
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        raise ImproperlyConfigured(
            "Environment variable STRIPE_WEBHOOK_SECRET must start with whsec_."
        )
    try:
        webhook_uuid = str(
            uuid.UUID(env_str("BILLING_WEBHOOK_UUID", DEFAULT_WEBHOOK_UUID, environ=environ))
        )
    except ValueError:
        raise ImproperlyConfigured(
            "Environment variable BILLING_WEBHOOK_UUID must be a UUID."
        ) from None
    return StripeSettings(
        enabled=enabled,
        live_mode=live_mode,
        live_secret_key=_secret_key("STRIPE_LIVE_SECRET_KEY", live_key or "", "live"),
        test_secret_key=_secret_key("STRIPE_TEST_SECRET_KEY", test_key or "", "test"),
        webhook_secret=webhook_secret,
        webhook_uuid=webhook_uuid,
    )


def url_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
