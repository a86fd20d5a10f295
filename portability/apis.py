"""Workspace export and import under /api/v1/workspaces/{workspace_id}/: `export` (GET, or POST
with options and a passphrase in the body) and `import` (POST). See docs/data.md, "Export
format"."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.entities import bool_param
from portability import services
from portability.serializers import ExportInput, ImportInput, ImportReportOutput
from workspaces.api.base import WorkspaceScopedApi
from workspaces.models import Role

EXPORT_TAG = ["export and import"]
EXPORT_DESCRIPTION = (
    "A versioned JSON document (format dbworkbench-export, version 1) of the workspace's "
    "connections and saved queries and the caller's own query history and chats; with a "
    "passphrase, an encrypted envelope (format dbworkbench-export-encrypted). See docs/data.md."
)


def _export_response(document: dict[str, Any], workspace: Any) -> Response:
    response = Response(document)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = (
        f'attachment; filename="dbworkbench-{workspace.slug}-{stamp}.json"'
    )
    response["Cache-Control"] = "no-store"
    return response


class WorkspaceExportApi(WorkspaceScopedApi):
    """Export: any member may export what they can read; secrets only for members and up."""

    write_role = Role.VIEWER  # POST only carries options; the service checks secrets

    @extend_schema(
        tags=EXPORT_TAG,
        operation_id="workspace_export",
        description=EXPORT_DESCRIPTION,
        parameters=[OpenApiParameter("include_secrets", bool)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        document = services.workspace_export(
            membership=self.membership,
            include_secrets=bool(bool_param(request, "include_secrets")),
            request=request,
        )
        return _export_response(document, self.workspace)

    @extend_schema(
        tags=EXPORT_TAG,
        operation_id="workspace_export_sealed",
        description=EXPORT_DESCRIPTION + " POST to send a passphrase in the body.",
        request=ExportInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = ExportInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.workspace_export(
            membership=self.membership,
            include_secrets=data.validated_data["include_secrets"],
            passphrase=data.validated_data.get("passphrase"),
            request=request,
        )
        return _export_response(document, self.workspace)


class WorkspaceImportApi(WorkspaceScopedApi):
    """Import: members and up (it creates nothing a member could not create one by one)."""

    @extend_schema(
        tags=EXPORT_TAG,
        operation_id="workspace_import",
        request=ImportInput,
        responses={200: ImportReportOutput, 201: ImportReportOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        report = services.workspace_import(
            membership=self.membership,
            document=values["document"],
            passphrase=values.get("passphrase"),
            dry_run=values["dry_run"],
            on_conflict=values["on_conflict"],
            request=request,
        )
        return Response(ImportReportOutput(report).data, status=200 if values["dry_run"] else 201)
