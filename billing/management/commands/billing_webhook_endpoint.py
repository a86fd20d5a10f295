"""Write the webhook endpoint row from settings and print the URL to register at Stripe."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.webhooks import ENABLED_EVENTS, webhook_endpoint_sync, webhook_endpoint_url


class Command(BaseCommand):
    help = (
        "Create or update the dj-stripe webhook endpoint from STRIPE_WEBHOOK_SECRET and "
        "BILLING_WEBHOOK_UUID, and print the URL and events to configure in Stripe."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = webhook_endpoint_sync()
        if endpoint is None:
            raise CommandError("STRIPE_WEBHOOK_SECRET is not set; nothing to register.")
        self.stdout.write(f"Webhook URL: {webhook_endpoint_url()}")
        self.stdout.write(f"Events: {', '.join(ENABLED_EVENTS)}")
