from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from workspaces.audit import Action, audit_record
from workspaces.models import AuditEvent, Invitation, Membership, Workspace


class MembershipInline(admin.TabularInline[Membership, Workspace]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    list_display = (
        "name",
        "slug",
        "plan",
        "plan_override",
        "billing_status",
        "is_personal",
        "created_at",
    )
    list_filter = ("plan", "plan_override", "billing_status", "is_personal")
    search_fields = ("name", "slug", "id")
    # Plan and billing status follow Stripe (billing app). Operators comp a workspace with
    # `plan_override` (and `seats` for team); both changes are audited. Stripe's next event
    # sets `seats` of a subscribed workspace again.
    readonly_fields = (
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "plan",
        "billing_status",
        "past_due_since",
    )
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        before = {f: form.initial.get(f) for f in ("plan_override", "seats")} if change else {}
        super().save_model(request, obj, form, change)
        changed = {
            f: [before.get(f), getattr(obj, f)]
            for f in ("plan_override", "seats")
            if change and before.get(f) != getattr(obj, f)
        }
        if changed:
            audit_record(
                action=Action.PLAN_OVERRIDDEN,
                workspace_id=obj.pk,
                actor=request.user,
                request=request,
                target_type="workspace",
                target_id=obj.pk,
                metadata={"changed": changed, "effective_plan": obj.effective_plan},
            )


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    list_display = ("email", "workspace", "role", "status", "expires_at", "created_at")
    list_filter = ("status", "role")
    search_fields = ("email", "workspace__name")
    readonly_fields = ("token_hash",)
    raw_id_fields = ("workspace", "invited_by", "responded_by")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the audit log is append-only for everyone."""

    list_display = ("created_at", "action", "actor_email", "workspace_id", "target_type", "ip")
    list_filter = ("action",)
    search_fields = ("actor_email", "action", "target_id", "workspace_id", "request_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
