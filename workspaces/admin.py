from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from workspaces.models import AuditEvent, Invitation, Membership, Workspace


class MembershipInline(admin.TabularInline[Membership, Workspace]):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin[Workspace]):
    list_display = ("name", "slug", "plan", "is_personal", "created_at")
    list_filter = ("plan", "is_personal")
    search_fields = ("name", "slug", "id")
    readonly_fields = ("id", "created_at", "updated_at", "created_by")
    inlines = [MembershipInline]


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
