from __future__ import annotations

from rest_framework import serializers

from workspaces.models import AuditEvent, ConflictPolicy, Invitation, Membership, Role, Workspace


class WorkspaceOutput(serializers.ModelSerializer[Workspace]):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = (
            "id",
            "name",
            "slug",
            "is_personal",
            "plan",
            "role",
            "sync_conflict_policy",
            "sync_secrets",
            "ai_approve_all_sql",
            "history_retention_days",
            "created_at",
            "updated_at",
        )

    def get_role(self, workspace: Workspace) -> str | None:
        roles: dict[object, str] = self.context.get("roles", {})
        return roles.get(workspace.pk)


class WorkspaceCreateInput(serializers.Serializer[dict[str, object]]):
    name = serializers.CharField(max_length=100, trim_whitespace=True)


class WorkspaceUpdateInput(serializers.Serializer[dict[str, object]]):
    name = serializers.CharField(max_length=100, required=False)
    sync_conflict_policy = serializers.ChoiceField(choices=ConflictPolicy.choices, required=False)
    sync_secrets = serializers.BooleanField(required=False)
    ai_approve_all_sql = serializers.BooleanField(required=False)
    history_retention_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )


class TransferInput(serializers.Serializer[dict[str, object]]):
    user_id = serializers.UUIDField()


class MemberOutput(serializers.ModelSerializer[Membership]):
    user_id = serializers.UUIDField(source="user.id")
    email = serializers.EmailField(source="user.email", allow_null=True)
    display_name = serializers.CharField(source="user.display_name")
    avatar_url = serializers.CharField(source="user.avatar_url")
    is_guest = serializers.BooleanField(source="user.is_guest")

    class Meta:
        model = Membership
        fields = (
            "user_id",
            "email",
            "display_name",
            "avatar_url",
            "is_guest",
            "role",
            "created_at",
        )


class RoleInput(serializers.Serializer[dict[str, object]]):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOutput(serializers.ModelSerializer[Invitation]):
    invited_by = serializers.UUIDField(source="invited_by_id", allow_null=True)

    class Meta:
        model = Invitation
        fields = (
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "expires_at",
            "sent_count",
            "created_at",
        )


class InvitationCreateInput(serializers.Serializer[dict[str, object]]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)


class InvitationTokenInput(serializers.Serializer[dict[str, object]]):
    token = serializers.CharField(max_length=200)


class InvitationPreviewOutput(serializers.Serializer[Invitation]):
    workspace_id = serializers.UUIDField(source="workspace.id")
    workspace_name = serializers.CharField(source="workspace.name")
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()


class AuditEventOutput(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "action",
            "actor_id",
            "actor_email",
            "target_type",
            "target_id",
            "ip",
            "user_agent",
            "request_id",
            "metadata",
            "created_at",
        )
