from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import receivers, webhooks

        webhooks.connect()
        receivers.connect()
        post_migrate.connect(
            webhooks.sync_endpoint_after_migrate,
            sender=self,
            dispatch_uid="billing.sync_webhook_endpoint",
        )
