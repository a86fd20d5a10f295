from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


class ConflictPolicy(models.TextChoices):
    LAST_WRITE_WINS = "last_write_wins", "Last write wins"
    KEEP_BOTH = "keep_both", "Keep both"
    MANUAL = "manual", "Manual"


class Plan(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    TEAM = "team", "Team"


class BillingStatus(models.TextChoices):
    NONE = "none", "No subscription"
    ACTIVE = "active", "Active"
    TRIALING = "trialing", "Trialing"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"


class Workspace(models.Model):
    """The tenant: a team (or one person) and everything it owns."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=80, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_personal = models.BooleanField(default=False)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    # Seats a team subscription pays for; per-seat plan limits are multiplied by it.
    seats = models.PositiveIntegerField(default=1)
    # Billing (docs/billing.md): the billing app keeps `plan`, `seats`, `billing_status` and
    # `past_due_since` in step with Stripe; `plan_override` is an operator's comp.
    billing_status = models.CharField(
        max_length=20, choices=BillingStatus.choices, default=BillingStatus.NONE
    )
    past_due_since = models.DateTimeField(null=True, blank=True)
    plan_override = models.CharField(max_length=20, choices=Plan.choices, blank=True, default="")
    # Settings a workspace admin may change.
    sync_conflict_policy = models.CharField(
        max_length=20, choices=ConflictPolicy.choices, default=ConflictPolicy.LAST_WRITE_WINS
    )
    sync_secrets = models.BooleanField(default=True)
    ai_approve_all_sql = models.BooleanField(default=False)
    history_retention_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def effective_plan(self) -> str:
        """The plan whose limits apply: the override, else free once a past-due payment has
        outlasted the grace period, else the subscribed plan."""
        if self.plan_override:
            return self.plan_override
        if self.billing_status == BillingStatus.PAST_DUE and self.past_due_since is not None:
            grace = timedelta(days=getattr(settings, "BILLING_PAST_DUE_GRACE_DAYS", 7))
            if timezone.now() >= self.past_due_since + grace:
                return Plan.FREE
        return self.plan

    @property
    def email(self) -> str:
        """The billing contact (dj-stripe's subscriber model must have one): the first owner."""
        owner = (
            self.memberships.filter(role=Role.OWNER)
            .select_related("user")
            .order_by("created_at")
            .first()
        )
        return (owner.user.email or "") if owner is not None else ""


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "user"), name="workspaces_membership_unique"
            ),
        ]
        indexes = [models.Index(fields=("user", "workspace"), name="workspaces_membership_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.workspace_id} as {self.role}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=10, choices=Role.choices)
    # Only a hash is stored: a leaked table does not leak usable tokens.
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    sent_count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One open invitation per address and workspace.
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=models.Q(status="pending"),
                name="workspaces_invitation_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace_id} ({self.status})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuditEvent(models.Model):
    """Append-only record of a security-relevant action (the app role cannot update or delete).

    `workspace_id` and `actor_id` are plain values, not foreign keys, so the trail outlives the
    workspace or account it speaks of. Account-level events (sign-in) have no workspace.
    """

    id = models.BigAutoField(primary_key=True)
    workspace_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_id = models.UUIDField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True, default="")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=("workspace_id", "-created_at", "-id"), name="audit_ws_time"),
            models.Index(fields=("actor_id", "-created_at"), name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        who = self.actor_email or self.actor_id
        return f"{self.action} by {who} at {self.created_at:%Y-%m-%d %H:%M}"
