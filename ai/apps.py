from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "ai"

    def ready(self) -> None:
        from ai import receivers

        receivers.connect()
        from ai.services.usage import workspace_month_totals
        from billing.usage import register_usage_counter

        # The billing overview reports the month's AI usage against the plan's quotas.
        register_usage_counter(
            "ai_requests_per_month",
            lambda workspace: workspace_month_totals(workspace_id=workspace.pk).requests,
        )
        register_usage_counter(
            "ai_tokens_per_month",
            lambda workspace: workspace_month_totals(workspace_id=workspace.pk).tokens,
        )
