from __future__ import annotations

import logging

import stripe
from celery import Task, shared_task

from billing import gateway

logger = logging.getLogger(__name__)


@shared_task(name="billing.subscriptions_cancel", bind=True, acks_late=True, max_retries=8)
def subscriptions_cancel(self: Task[[list[str]], int], subscription_ids: list[str]) -> int:
    """Cancel the subscriptions of a deleted workspace at Stripe; retried while Stripe fails.
    Cancelling is idempotent at Stripe, so a retry after a partial run is safe."""
    try:
        for subscription_id in subscription_ids:
            gateway.subscription_cancel(subscription_id)
    except stripe.StripeError as error:
        logger.warning("cancelling subscriptions failed: %s", type(error).__name__)
        raise self.retry(exc=error, countdown=min(60 * 2**self.request.retries, 3600)) from error
    return len(subscription_ids)
