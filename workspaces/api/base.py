"""The one way into tenant data: every workspace endpoint subclasses WorkspaceScopedApi.

It authenticates, resolves the workspace from the URL, checks membership (an outsider gets 404,
never 403, so it cannot even learn the workspace exists) and role (a member with too low a role
gets 403), binds the request's transaction to the workspace for row-level security, and hands
out querysets already filtered on the workspace. The unscoped path is named
`dangerously_unscoped` and needs a reason.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, TypeVar

from django.db import models, transaction
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound, PermissionDenied
from core.tenancy import set_db_context
from workspaces.models import Membership, Role, Workspace, role_at_least

M = TypeVar("M", bound=models.Model)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def resolve_membership(*, user: Any, workspace_id: uuid.UUID | str) -> Membership:
    """The caller's membership of the workspace, or 404 (outsiders learn nothing)."""
    set_db_context(workspace_id=None, user_id=user.pk)
    membership = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace_id=workspace_id, user_id=user.pk)
        .first()
    )
    if membership is None:
        raise NotFound("Workspace not found.")
    set_db_context(workspace_id=membership.workspace_id, user_id=user.pk)
    return membership


class WorkspaceScopedApi(APIView):
    """Base for every endpoint under /api/v1/workspaces/{workspace_id}/."""

    workspace_url_kwarg = "workspace_id"
    # The lowest role that may call each method; subclasses tighten it.
    read_role: ClassVar[str] = Role.VIEWER
    write_role: ClassVar[str] = Role.MEMBER

    membership: Membership
    workspace: Workspace

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # One transaction per request: row-level security settings are transaction-local, and a
        # failed request rolls back everything it did.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if getattr(response, "status_code", 500) >= 400:
                transaction.set_rollback(True)
            return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        self.membership = resolve_membership(
            user=request.user, workspace_id=kwargs[self.workspace_url_kwarg]
        )
        self.workspace = self.membership.workspace
        minimum = self.read_role if request.method in READ_METHODS else self.write_role
        if not role_at_least(self.membership.role, minimum):
            raise PermissionDenied(f"Your role ({self.membership.role}) cannot do this.")

    def require_role(self, minimum: str, *, action: str = "do this") -> None:
        if not role_at_least(self.membership.role, minimum):
            raise PermissionDenied(f"Your role ({self.membership.role}) cannot {action}.")

    def scoped(self, model: type[M]) -> models.QuerySet[M]:
        """Rows of `model` in this workspace. The only queryset a tenant view should start from."""
        return model._default_manager.filter(workspace_id=self.workspace.pk)

    def dangerously_unscoped(self, model: type[M], *, reason: str) -> models.QuerySet[M]:
        """All rows of `model`, across workspaces. Row-level security still applies, so this
        returns only what the bound workspace may see; `reason` documents why it is needed."""
        if not reason:
            raise ValueError("say why an unscoped queryset is safe here")
        return model._default_manager.all()


def no_content() -> Response:
    return Response(status=204)
