from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.reauth import require_reauthentication
from core.api.pagination import CursorPagination
from core.exceptions import ApplicationError
from core.tenancy import set_db_context
from workspaces import selectors, services
from workspaces.api.base import WorkspaceScopedApi, no_content
from workspaces.api.serializers import (
    AuditEventOutput,
    InvitationCreateInput,
    InvitationOutput,
    InvitationPreviewOutput,
    InvitationTokenInput,
    MemberOutput,
    RoleInput,
    TransferInput,
    WorkspaceCreateInput,
    WorkspaceOutput,
    WorkspaceUpdateInput,
)
from workspaces.models import Role

TAG = ["workspaces"]


def _workspace_response(workspace: Any, role: str, status: int = 200) -> Response:
    data = WorkspaceOutput(workspace, context={"roles": {workspace.pk: role}}).data
    return Response(data, status=status)


class WorkspaceListCreateApi(APIView):
    """My workspaces, and creating a new one (its creator becomes the owner)."""

    @extend_schema(tags=TAG, operation_id="workspaces_list", responses=WorkspaceOutput(many=True))
    def get(self, request: Request) -> Response:
        with transaction.atomic():
            set_db_context(workspace_id=None, user_id=request.user.pk)
            paginator = CursorPagination()
            paginator.ordering = ("created_at", "id")
            memberships = selectors.memberships_of(user=request.user)
            page = paginator.paginate_queryset(memberships, request, view=self) or []
            roles = {m.workspace_id: m.role for m in page}
            data = WorkspaceOutput(
                [m.workspace for m in page], many=True, context={"roles": roles}
            ).data
            return paginator.get_paginated_response(data)

    @extend_schema(
        tags=TAG,
        operation_id="workspaces_create",
        request=WorkspaceCreateInput,
        responses={201: WorkspaceOutput},
    )
    def post(self, request: Request) -> Response:
        data = WorkspaceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        if request.user.is_guest:  # type: ignore[union-attr]  # IsAuthenticated: a User
            raise ApplicationError(
                "Guest accounts have a personal workspace only. Create an account to add more.",
                code="guest_limit",
                status=403,
            )
        workspace = services.workspace_create(
            user=request.user, name=data.validated_data["name"], request=request
        )
        return _workspace_response(workspace, Role.OWNER, status=201)


class WorkspaceDetailApi(WorkspaceScopedApi):
    write_role = Role.ADMIN

    @extend_schema(tags=TAG, operation_id="workspaces_read", responses=WorkspaceOutput)
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        return _workspace_response(self.workspace, self.membership.role)

    @extend_schema(
        tags=TAG,
        operation_id="workspaces_update",
        request=WorkspaceUpdateInput,
        responses=WorkspaceOutput,
    )
    def patch(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = WorkspaceUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = services.workspace_update(
            membership=self.membership, changes=dict(data.validated_data), request=request
        )
        return _workspace_response(workspace, self.membership.role)

    @extend_schema(tags=TAG, operation_id="workspaces_delete", responses={204: None})
    def delete(self, request: Request, workspace_id: uuid.UUID) -> Response:
        self.require_role(Role.OWNER, action="delete the workspace")
        require_reauthentication(request)
        services.workspace_delete(membership=self.membership, request=request)
        return no_content()


class WorkspaceTransferApi(WorkspaceScopedApi):
    write_role = Role.OWNER

    @extend_schema(
        tags=TAG, operation_id="workspaces_transfer", request=TransferInput, responses=MemberOutput
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        require_reauthentication(request)
        target = services.workspace_transfer(
            membership=self.membership, new_owner_id=data.validated_data["user_id"], request=request
        )
        return Response(MemberOutput(target).data)


class MemberListApi(WorkspaceScopedApi):
    @extend_schema(tags=TAG, operation_id="members_list", responses=MemberOutput(many=True))
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        paginator = CursorPagination()
        paginator.ordering = ("created_at", "id")
        queryset = selectors.members(workspace=self.workspace)
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return paginator.get_paginated_response(MemberOutput(page, many=True).data)


class MemberDetailApi(WorkspaceScopedApi):
    write_role = Role.VIEWER  # services decide: anyone may remove themselves (leave)

    @extend_schema(
        tags=TAG, operation_id="members_update", request=RoleInput, responses=MemberOutput
    )
    def patch(self, request: Request, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        data = RoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.member_change_role(
            membership=self.membership,
            user_id=user_id,
            role=data.validated_data["role"],
            request=request,
        )
        return Response(MemberOutput(member).data)

    @extend_schema(tags=TAG, operation_id="members_remove", responses={204: None})
    def delete(self, request: Request, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        services.member_remove(membership=self.membership, user_id=user_id, request=request)
        return no_content()


class LeaveApi(WorkspaceScopedApi):
    write_role = Role.VIEWER

    @extend_schema(tags=TAG, operation_id="workspaces_leave", request=None, responses={204: None})
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        services.member_leave(membership=self.membership, request=request)
        return no_content()


class InvitationListCreateApi(WorkspaceScopedApi):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(
        tags=TAG,
        operation_id="invitations_list",
        parameters=[
            OpenApiParameter(
                "status", str, enum=["pending", "accepted", "declined", "revoked", "all"]
            )
        ],
        responses=InvitationOutput(many=True),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        status = request.query_params.get("status", "pending")
        if status not in {"pending", "accepted", "declined", "revoked", "all"}:
            raise ApplicationError(
                "status must be pending, accepted, declined, revoked or all.",
                code="invalid",
                fields={"status": ["Unknown status."]},
            )
        paginator = CursorPagination()
        queryset = selectors.invitations(workspace=self.workspace, status=status)
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return paginator.get_paginated_response(InvitationOutput(page, many=True).data)

    @extend_schema(
        tags=TAG,
        operation_id="invitations_create",
        request=InvitationCreateInput,
        responses={201: InvitationOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = InvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _token = services.invitation_create(
            membership=self.membership,
            email=data.validated_data["email"],
            role=data.validated_data["role"],
            request=request,
        )
        return Response(InvitationOutput(invitation).data, status=201)


class InvitationDetailApi(WorkspaceScopedApi):
    write_role = Role.ADMIN

    @extend_schema(tags=TAG, operation_id="invitations_revoke", responses={204: None})
    def delete(
        self, request: Request, workspace_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> Response:
        services.invitation_revoke(
            membership=self.membership, invitation_id=invitation_id, request=request
        )
        return no_content()


class InvitationResendApi(WorkspaceScopedApi):
    write_role = Role.ADMIN

    @extend_schema(
        tags=TAG, operation_id="invitations_resend", request=None, responses=InvitationOutput
    )
    def post(self, request: Request, workspace_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
        invitation, _token = services.invitation_resend(
            membership=self.membership, invitation_id=invitation_id, request=request
        )
        return Response(InvitationOutput(invitation).data)


def _token(request: Request) -> str:
    data = InvitationTokenInput(data=request.data)
    data.is_valid(raise_exception=True)
    return str(data.validated_data["token"])


class InvitationPreviewApi(APIView):
    @extend_schema(
        tags=TAG,
        operation_id="invitations_preview",
        request=InvitationTokenInput,
        responses=InvitationPreviewOutput,
    )
    def post(self, request: Request) -> Response:
        invitation = services.invitation_preview(token=_token(request))
        return Response(InvitationPreviewOutput(invitation).data)


class InvitationAcceptApi(APIView):
    @extend_schema(
        tags=TAG,
        operation_id="invitations_accept",
        request=InvitationTokenInput,
        responses={201: WorkspaceOutput},
    )
    def post(self, request: Request) -> Response:
        membership = services.invitation_accept(
            token=_token(request), user=request.user, request=request
        )
        with transaction.atomic():
            set_db_context(workspace_id=membership.workspace_id, user_id=request.user.pk)
            workspace = selectors.workspace(workspace_id=membership.workspace_id)
            return _workspace_response(workspace, membership.role, status=201)


class InvitationDeclineApi(APIView):
    @extend_schema(
        tags=TAG,
        operation_id="invitations_decline",
        request=InvitationTokenInput,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        services.invitation_decline(token=_token(request), user=request.user, request=request)
        return no_content()


class AuditEventListApi(WorkspaceScopedApi):
    read_role = Role.ADMIN

    @extend_schema(
        tags=TAG,
        operation_id="audit_events_list",
        parameters=[
            OpenApiParameter("action", str, description="Exact action, or a prefix ending in '.'"),
            OpenApiParameter("actor_id", uuid.UUID),
            OpenApiParameter("target_type", str),
            OpenApiParameter("target_id", str),
            OpenApiParameter("since", str, description="RFC 3339 time"),
            OpenApiParameter("until", str, description="RFC 3339 time"),
        ],
        responses=AuditEventOutput(many=True),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        params = request.query_params
        filters: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name in ("since", "until"):
            if params.get(name):
                value = parse_datetime(params[name])
                if value is None or value.tzinfo is None:
                    errors[name] = ["Use an RFC 3339 time with a zone, e.g. 2026-01-31T12:00:00Z."]
                filters[name] = value
        if params.get("actor_id"):
            try:
                filters["actor_id"] = uuid.UUID(params["actor_id"])
            except ValueError:
                errors["actor_id"] = ["Not a UUID."]
        if errors:
            raise ApplicationError(
                "Some filters are invalid.", code="validation_error", fields=errors
            )
        for name in ("action", "target_type", "target_id"):
            if params.get(name):
                filters[name] = params[name][:100]
        paginator = CursorPagination()
        queryset = selectors.audit_events(workspace=self.workspace, **filters)
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        return paginator.get_paginated_response(AuditEventOutput(page, many=True).data)
