from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class NoticeKind(models.TextChoices):
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    TRIAL_ENDING = "trial_ending", "Trial ending"


class BillingNotice(models.Model):
    """One billing email that went out, so the same Stripe fact never mails twice.

    `key` names the fact: the invoice and its attempt number for a failed payment, the
    subscription and its trial end for a trial ending. Stripe may deliver an event twice, send
    several events for one fact, or be replayed from the dashboard; the unique key absorbs all.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("workspace", "kind", "key"), name="billing_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} for {self.workspace_id}"
