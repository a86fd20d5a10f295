from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AiUsage(models.Model):
    """AI requests and tokens of one member of a workspace, in one calendar month (UTC), with
    one model. Counted by the service, never written by clients; not synced. The plan's
    monthly quotas compare against the workspace's sums."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    # Kept when the member's account goes: the workspace's month still used those tokens.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    month = models.DateField(help_text="First day of the month (UTC).")
    model = models.CharField(max_length=100, blank=True, default="")
    requests = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "AI usage"
        verbose_name_plural = "AI usage"
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "user", "month", "model"),
                name="ai_usage_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=("workspace", "month"), name="ai_usage_ws_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.model or '-'}: {self.requests} requests"

    @property
    def total_tokens(self) -> int:
        return int(self.input_tokens) + int(self.output_tokens)
