"""The operators' path across workspaces: Django admin only, staff only, always audited.

Row-level security hides every tenant row unless a transaction is bound to its workspace. For
`/admin/` requests by an active staff user, this middleware binds the transaction to the
operator instead (`app.operator_id`), which the policies accept for any workspace, and appends
an `operator.access` audit event naming the operator, the page and the method. The API never
passes through it: the path test is the first thing it does, and API views bind their own
transactions to a single workspace.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from core.tenancy import set_db_context


def _admin_prefix() -> str:
    return "/" + getattr(settings, "ADMIN_URL_PATH", "admin/").lstrip("/")


class OperatorAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_admin_prefix()):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
            return self.get_response(request)
        with transaction.atomic():
            set_db_context(workspace_id=None, user_id=user.pk, operator_id=user.pk)
            response = self.get_response(request)
            self._audit(request, response)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response

    def _audit(self, request: HttpRequest, response: HttpResponse) -> None:
        from workspaces.audit import Action, audit_record

        # Static assets and the admin's JS catalog are not data access.
        if request.path.endswith((".js", ".css")) or "jsi18n" in request.path:
            return
        match = getattr(request, "resolver_match", None)
        object_id = match.kwargs.get("object_id", "") if match else ""
        audit_record(
            action=Action.OPERATOR_ACCESS,
            workspace_id=None,
            actor=request.user,
            request=request,
            target_type="admin",
            target_id=str(object_id or "")[:64],
            metadata={
                "method": request.method,
                "path": request.path[:300],
                "status": response.status_code,
            },
        )
