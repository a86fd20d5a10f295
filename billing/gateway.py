"""Every call this service makes to Stripe's API, besides dj-stripe's own.

Calls go through the official SDK with the key of the configured mode and dj-stripe's API
version, so tests answer them at the HTTP boundary (`stripe.default_http_client`). Stripe's
errors become one domain error, 502 `payment_provider_error`, with the detail in the log only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

_IDEMPOTENCY_NAMESPACE = uuid.UUID("3b8f7a52-6c1e-4f0e-8d7a-0c4b9e2f6a11")

_T = TypeVar("_T")


class PaymentProviderError(ApplicationError):
    status_code = 502
    code = "payment_provider_error"


def api_key() -> str:
    return djstripe_settings.get_default_api_key(livemode=settings.STRIPE_LIVE_MODE)


def plain(obj: stripe.StripeObject) -> dict[str, Any]:
    """Stripe objects as plain JSON dicts (since stripe 15 a StripeObject is no Mapping)."""
    return obj.to_dict(recursive=True, for_json=True)


def _options() -> dict[str, Any]:
    return {"api_key": api_key(), "stripe_version": djstripe_settings.STRIPE_API_VERSION}


def idempotency_key(object_type: str, action: str, livemode: bool | None) -> str:
    """dj-stripe's DJSTRIPE_IDEMPOTENCY_KEY_CALLBACK: a key derived from what is done, not a
    database row. dj-stripe's default stores a row, which our request transaction rolls back
    when a later step fails, so a retry would create a second Stripe customer; a derived key
    makes Stripe answer the retry with the customer it already created (for 24 hours)."""
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{object_type}:{action}:{livemode}"))


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as error:
        logger.warning(
            "stripe %s failed: %s (status %s, request %s)",
            what,
            type(error).__name__,
            error.http_status,
            error.request_id,
        )
        raise PaymentProviderError(
            "The payment provider could not complete the request. Try again in a moment."
        ) from error


def price_for_lookup_key(lookup_key: str) -> dict[str, Any] | None:
    """The active price with this lookup key, or None."""
    with _translated("price lookup"):
        prices = stripe.Price.list(lookup_keys=[lookup_key], active=True, limit=1, **_options())
    return plain(prices.data[0]) if prices.data else None


def checkout_session_create(**params: Any) -> dict[str, Any]:
    with _translated("checkout session"):
        return plain(stripe.checkout.Session.create(**params, **_options()))


def portal_session_create(*, customer: str, return_url: str) -> dict[str, Any]:
    with _translated("portal session"):
        return plain(
            stripe.billing_portal.Session.create(
                customer=customer, return_url=return_url, **_options()
            )
        )


def subscription_retrieve(subscription_id: str) -> stripe.Subscription:
    """Stripe's subscription as the SDK returns it (dj-stripe's sync walks its item list).
    Not translated: a webhook that cannot reach Stripe fails with 500 and Stripe retries it."""
    return stripe.Subscription.retrieve(subscription_id, **_options())


def subscription_cancel(subscription_id: str) -> None:
    """Cancel now. A subscription Stripe refuses to cancel (already canceled, or gone) is
    logged, not retried: asking again would get the same answer."""
    try:
        stripe.Subscription.cancel(subscription_id, **_options())
    except stripe.InvalidRequestError as error:
        logger.warning("subscription %s not canceled: %s", subscription_id, error.code)


def call(what: str, function: Callable[[], _T]) -> _T:
    """Run a dj-stripe call that reaches Stripe, with its errors translated."""
    with _translated(what):
        return function()
