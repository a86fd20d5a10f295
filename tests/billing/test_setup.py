"""Billing's settings, the webhook endpoint row, and the usage counters."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from billing.conf import DEFAULT_WEBHOOK_UUID, load_stripe_settings
from billing.usage import register_usage_counter, usage_for
from billing.webhooks import ENABLED_EVENTS, sync_endpoint_after_migrate
from core.tenancy import db_context

TEST_KEY = "sk_test_" + "a" * 24
LIVE_KEY = "rk_live_" + "b" * 24


def test_nothing_is_required_outside_production_or_with_billing_off() -> None:
    for production, environ in ((False, {"BILLING_ENABLED": "true"}), (True, {})):
        loaded = load_stripe_settings(production=production, environ=environ)
        assert (loaded.test_secret_key, loaded.webhook_secret) == ("", "")
        assert loaded.webhook_uuid == DEFAULT_WEBHOOK_UUID
    assert load_stripe_settings(production=True, environ={}).enabled is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STRIPE_WEBHOOK_SECRET": "whsec_x"}, "STRIPE_TEST_SECRET_KEY is required"),
        ({"STRIPE_TEST_SECRET_KEY": TEST_KEY}, "STRIPE_WEBHOOK_SECRET is required"),
        (
            {"STRIPE_LIVE_MODE": "true", "STRIPE_TEST_SECRET_KEY": TEST_KEY},
            "STRIPE_LIVE_SECRET_KEY is required",
        ),
    ],
)
def test_production_with_billing_on_requires_the_key_of_its_mode_and_the_webhook_secret(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        load_stripe_settings(production=True, environ={"BILLING_ENABLED": "true", **environ})


def test_production_with_billing_on_loads_with_both() -> None:
    loaded = load_stripe_settings(
        production=True,
        environ={
            "BILLING_ENABLED": "true",
            "STRIPE_LIVE_MODE": "yes",
            "STRIPE_LIVE_SECRET_KEY": LIVE_KEY,
            "STRIPE_WEBHOOK_SECRET": "whsec_live",
        },
    )
    assert (loaded.enabled, loaded.live_mode, loaded.live_secret_key) == (True, True, LIVE_KEY)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STRIPE_TEST_SECRET_KEY": "sk_live_" + "c" * 24}, "test-mode secret or restricted"),
        ({"STRIPE_LIVE_SECRET_KEY": "pk_live_" + "c" * 24}, "live-mode secret or restricted"),
        ({"STRIPE_TEST_SECRET_KEY": "sk_test_short"}, "STRIPE_TEST_SECRET_KEY must be"),
        ({"STRIPE_WEBHOOK_SECRET": "secret"}, "must start with whsec_"),
        ({"BILLING_WEBHOOK_UUID": "not-a-uuid"}, "BILLING_WEBHOOK_UUID must be a UUID"),
        ({"BILLING_ENABLED": "perhaps"}, "BILLING_ENABLED must be a boolean"),
    ],
)
def test_malformed_values_fail_loudly_without_echoing_secrets(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as error:
        load_stripe_settings(production=False, environ=environ)
    for value in environ.values():
        if value.startswith(("sk_", "pk_", "rk_")):
            assert value not in str(error.value)


@pytest.mark.django_db
def test_the_endpoint_row_comes_from_settings_and_follows_a_rotated_secret(settings: Any) -> None:
    settings.DJSTRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="STRIPE_WEBHOOK_SECRET is not set"):
        call_command("billing_webhook_endpoint")

    settings.DJSTRIPE_WEBHOOK_SECRET = "whsec_first"
    out = StringIO()
    call_command("billing_webhook_endpoint", stdout=out)
    assert f"/stripe/webhook/{DEFAULT_WEBHOOK_UUID}/" in out.getvalue()
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.livemode, endpoint.enabled_events) == (
        "whsec_first",
        False,
        list(ENABLED_EVENTS),
    )
    assert endpoint.url == f"http://localhost:8000/stripe/webhook/{DEFAULT_WEBHOOK_UUID}/"

    # What the release's migrate does after a rotation (post_migrate).
    settings.DJSTRIPE_WEBHOOK_SECRET = "whsec_second"
    sync_endpoint_after_migrate()
    assert WebhookEndpoint.objects.get().secret == "whsec_second"
    settings.BILLING_ENABLED = False
    settings.DJSTRIPE_WEBHOOK_SECRET = "whsec_third"
    sync_endpoint_after_migrate()
    assert WebhookEndpoint.objects.get().secret == "whsec_second"


@pytest.mark.django_db
def test_usage_reports_members_and_registered_counters(team: Any) -> None:
    from billing import usage

    saved = dict(usage._COUNTERS)
    try:
        register_usage_counter("sync_devices", lambda workspace: 7)
        with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
            counts = usage_for(team.workspace)
        assert counts["members"] == 4
        assert counts["sync_devices"] == 7
        assert (counts["connections"], counts["saved_queries"]) == (0, 0)
        with pytest.raises(KeyError, match="unknown plan limit"):
            register_usage_counter("conections", lambda workspace: 0)
    finally:
        usage._COUNTERS.clear()
        usage._COUNTERS.update(saved)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "error"), [("owner", None), ("admin", None), ("member", "403"), ("outsider", "404")]
)
def test_dj_stripe_request_callback_gives_billing_managers_their_workspace(
    team: Any, role: str, error: str | None
) -> None:
    """DJSTRIPE_SUBSCRIBER_MODEL_REQUEST_CALLBACK, for dj-stripe's own view mixins."""
    from django.db import transaction
    from django.test import RequestFactory
    from django.urls import resolve

    from billing.selectors import subscriber_from_request
    from core.exceptions import ApplicationError

    path = f"/api/v1/workspaces/{team.workspace.pk}/billing/"
    request = RequestFactory().get(path)
    request.user = team.user(role)
    request.resolver_match = resolve(path)
    with transaction.atomic():
        if error is None:
            assert subscriber_from_request(request).pk == team.workspace.pk
        else:
            with pytest.raises(ApplicationError) as refused:
                subscriber_from_request(request)
            assert str(refused.value.status_code) == error
