"""Billing (billing/, docs/billing.md): Stripe subscriptions through dj-stripe, one Stripe customer
per workspace. Nothing here is required in development or test. In production it is required only
when BILLING_ENABLED is on: the secret key of the selected mode (STRIPE_TEST_SECRET_KEY, or
STRIPE_LIVE_SECRET_KEY with STRIPE_LIVE_MODE) and the webhook signing secret
(STRIPE_WEBHOOK_SECRET). With billing off every workspace keeps the plan stored on it (free, or
comped from the admin) and the checkout and portal endpoints answer 503.
"""

from __future__ import annotations

from billing import conf as _billing_conf
from config.settings.accounts import WEB_APP_URL
from config.settings.api import SPECTACULAR_SETTINGS
from config.settings.base import INSTALLED_APPS, IS_PRODUCTION
from config.settings.observability import LOGGING
from core.env import env_int, env_list, env_str

# Extends base.py's list in place: the one list config.settings re-exports.
INSTALLED_APPS += ["djstripe", "billing"]

_stripe = _billing_conf.load_stripe_settings(production=IS_PRODUCTION)
BILLING_ENABLED = _stripe.enabled
STRIPE_LIVE_MODE = _stripe.live_mode
STRIPE_LIVE_SECRET_KEY = _stripe.live_secret_key
STRIPE_TEST_SECRET_KEY = _stripe.test_secret_key
# dj-stripe 2.11 reads signing secrets from its WebhookEndpoint rows, not from settings:
# `manage.py billing_webhook_endpoint` (also run after every migrate while billing is on) writes
# this one onto the row that serves /stripe/webhook/<BILLING_WEBHOOK_UUID>/.
DJSTRIPE_WEBHOOK_SECRET = _stripe.webhook_secret
BILLING_WEBHOOK_UUID = _stripe.webhook_uuid
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_SUBSCRIBER_MODEL = "workspaces.Workspace"
# Only dj-stripe's own view mixins call this (our endpoints resolve the workspace themselves).
DJSTRIPE_SUBSCRIBER_MODEL_REQUEST_CALLBACK = "billing.selectors.subscriber_from_request"
# Idempotency keys derived from the action instead of stored rows (billing.gateway).
DJSTRIPE_IDEMPOTENCY_KEY_CALLBACK = "billing.gateway.idempotency_key"
# Lookup keys of the Stripe prices of the paid plans; team is billed per seat.
STRIPE_PRICE_LOOKUP_PRO = env_str("STRIPE_PRICE_LOOKUP_PRO", "pro_monthly")
STRIPE_PRICE_LOOKUP_TEAM = env_str("STRIPE_PRICE_LOOKUP_TEAM", "team_monthly_per_seat")
# Days a past-due workspace keeps its paid plan before its effective plan falls to free.
BILLING_PAST_DUE_GRACE_DAYS = env_int("BILLING_PAST_DUE_GRACE_DAYS", 7, min_value=0)
BILLING_MAX_SEATS = env_int("BILLING_MAX_SEATS", 500, min_value=1)
# Where Stripe sends the browser back. "{workspace_id}" is filled in; Stripe fills in its own
# "{CHECKOUT_SESSION_ID}".
BILLING_CHECKOUT_SUCCESS_URL = env_str(
    "BILLING_CHECKOUT_SUCCESS_URL",
    WEB_APP_URL + "/workspaces/{workspace_id}/billing?checkout=success",
)
BILLING_CHECKOUT_CANCEL_URL = env_str(
    "BILLING_CHECKOUT_CANCEL_URL",
    WEB_APP_URL + "/workspaces/{workspace_id}/billing?checkout=canceled",
)
BILLING_PORTAL_RETURN_URL = env_str(
    "BILLING_PORTAL_RETURN_URL", WEB_APP_URL + "/workspaces/{workspace_id}/billing"
)
# Origins (scheme://host[:port]) a client may send its own return URLs on, instead of the above.
BILLING_RETURN_URL_ORIGINS = env_list(
    "BILLING_RETURN_URL_ORIGINS", [_billing_conf.url_origin(WEB_APP_URL)]
)
# One name per choice set in the OpenAPI schema.
_enum_overrides: dict[str, str] = SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]
_enum_overrides.update(
    {
        "PlanEnum": "workspaces.models.Plan",
        "PaidPlanEnum": "billing.plans.PAID_PLAN_CHOICES",
        "BillingStatusEnum": "workspaces.models.BillingStatus",
    }
)
# The stripe SDK logs every request at INFO; billing.gateway logs the failures.
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}
