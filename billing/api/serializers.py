from __future__ import annotations

from rest_framework import serializers

from billing.plans import PAID_PLAN_CHOICES
from workspaces.models import BillingStatus, Plan


class CheckoutCreateInput(serializers.Serializer[dict[str, object]]):
    plan = serializers.ChoiceField(choices=PAID_PLAN_CHOICES)
    seats = serializers.IntegerField(min_value=1, required=False)
    success_url = serializers.URLField(max_length=2000, required=False)
    cancel_url = serializers.URLField(max_length=2000, required=False)


class PortalCreateInput(serializers.Serializer[dict[str, object]]):
    return_url = serializers.URLField(max_length=2000, required=False)


class SessionOutput(serializers.Serializer[object]):
    id = serializers.CharField()
    url = serializers.URLField()


def _count() -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True)


class UsageOutput(serializers.Serializer[object]):
    """What is in use per limit; null where nothing measures it yet."""

    members = _count()
    connections = _count()
    saved_queries = _count()
    sync_devices = _count()
    ai_requests_per_month = _count()
    ai_tokens_per_month = _count()


class LimitsOutput(UsageOutput):
    """The limits that apply now (per-seat limits already multiplied); null is unlimited."""

    history_retention_days = _count()


class BillingOverviewOutput(serializers.Serializer[object]):
    billing_enabled = serializers.BooleanField()
    plan = serializers.ChoiceField(choices=Plan.choices)
    effective_plan = serializers.ChoiceField(choices=Plan.choices)
    plan_override = serializers.ChoiceField(choices=Plan.choices, allow_null=True)
    status = serializers.ChoiceField(choices=BillingStatus.choices)
    seats = serializers.IntegerField()
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    trial_end = serializers.DateTimeField(allow_null=True)
    past_due_since = serializers.DateTimeField(allow_null=True)
    grace_period_ends_at = serializers.DateTimeField(allow_null=True)
    limits = LimitsOutput()
    usage = UsageOutput()
