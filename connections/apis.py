"""Connections API under /api/v1/workspaces/{workspace_id}/connections/.

List and read return metadata to every member (viewers included): secrets never, only whether
each is set. `POST .../reveal` returns them to members and up, and is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from connections import data_export, selectors, services
from connections.models import Engine
from connections.serializers import (
    ConnectionCreateInput,
    ConnectionOutput,
    ConnectionSecretsOutput,
    ConnectionUpdateInput,
    ExportInput,
    ImportInput,
    ImportReportOutput,
)
from core.api.entities import (
    IF_MATCH_DESCRIPTION,
    bool_param,
    expected_version,
    invalid_param,
    ordering_param,
    page_of,
    text_param,
    with_etag,
)
from core.api.pagination import CursorPagination
from workspaces.api.base import WorkspaceScopedApi, no_content
from workspaces.models import Role

TAG = ["connections"]
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False, description=IF_MATCH_DESCRIPTION
)


def _output(row: Any, status: int = 200) -> Response:
    data = ConnectionOutput(selectors.connection_metadata(row)).data
    return with_etag(Response(data, status=status), row.version)


def _split(validated: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    fields = dict(validated)
    url = fields.pop("url", None)
    return fields, url


class ConnectionListCreateApi(WorkspaceScopedApi):
    @extend_schema(
        tags=TAG,
        operation_id="connections_list",
        parameters=[
            OpenApiParameter("engine", str, enum=Engine.values),
            OpenApiParameter("tag", str, description="Connections carrying this tag."),
            OpenApiParameter("q", str, description="Search in name and host."),
            OpenApiParameter("ordering", str, enum=selectors.ORDERINGS),
            OpenApiParameter("limit", int, description="Page size (at most 500)."),
            OpenApiParameter("cursor", str),
        ],
        responses=page_of(ConnectionOutput),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        engine = request.query_params.get("engine")
        if engine and engine not in Engine.values:
            raise invalid_param("engine", "is not a known engine.")
        ordering = ordering_param(request, selectors.ORDERINGS, "name")
        queryset = selectors.connection_list(
            workspace_id=self.workspace.pk,
            engine=engine,
            tag=text_param(request, "tag", max_length=64),
            q=text_param(request, "q"),
        )
        paginator = CursorPagination()
        paginator.ordering = (ordering, "-row_id" if ordering.startswith("-") else "row_id")
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        data = ConnectionOutput([selectors.connection_metadata(r) for r in page], many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        tags=TAG,
        operation_id="connections_create",
        request=ConnectionCreateInput,
        responses={201: ConnectionOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = ConnectionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields, url = _split(data.validated_data)
        connection_id = fields.pop("id", None)
        row = services.connection_create(
            membership=self.membership, fields=fields, url=url, connection_id=connection_id
        )
        return _output(row, status=201)


class ConnectionDetailApi(WorkspaceScopedApi):
    @extend_schema(tags=TAG, operation_id="connections_read", responses=ConnectionOutput)
    def get(self, request: Request, workspace_id: uuid.UUID, connection_id: uuid.UUID) -> Response:
        row = selectors.connection_get(workspace_id=self.workspace.pk, connection_id=connection_id)
        return _output(row)

    @extend_schema(
        tags=TAG,
        operation_id="connections_update",
        parameters=[IF_MATCH],
        request=ConnectionUpdateInput,
        responses=ConnectionOutput,
    )
    def patch(
        self, request: Request, workspace_id: uuid.UUID, connection_id: uuid.UUID
    ) -> Response:
        data = ConnectionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields, url = _split(data.validated_data)
        expected = expected_version(request, fields.pop("expected_version", None))
        row = services.connection_update(
            membership=self.membership,
            connection_id=connection_id,
            fields=fields,
            url=url,
            expected_version=expected,
        )
        return _output(row)

    @extend_schema(
        tags=TAG, operation_id="connections_delete", parameters=[IF_MATCH], responses={204: None}
    )
    def delete(
        self, request: Request, workspace_id: uuid.UUID, connection_id: uuid.UUID
    ) -> Response:
        services.connection_delete(
            membership=self.membership,
            connection_id=connection_id,
            expected_version=expected_version(request),
        )
        return no_content()


class ConnectionRevealApi(WorkspaceScopedApi):
    """Secrets of one connection: members and up; every call is an audit event."""

    @extend_schema(
        tags=TAG,
        operation_id="connections_reveal",
        request=None,
        responses=ConnectionSecretsOutput,
    )
    def post(self, request: Request, workspace_id: uuid.UUID, connection_id: uuid.UUID) -> Response:
        secrets = services.connection_reveal(
            membership=self.membership, connection_id=connection_id, request=request
        )
        response = Response(ConnectionSecretsOutput(secrets).data)
        response["Cache-Control"] = "no-store"
        return response


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
        document = data_export.workspace_export(
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
        document = data_export.workspace_export(
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
        report = data_export.workspace_import(
            membership=self.membership,
            document=values["document"],
            passphrase=values.get("passphrase"),
            dry_run=values["dry_run"],
            on_conflict=values["on_conflict"],
            request=request,
        )
        return Response(ImportReportOutput(report).data, status=200 if values["dry_run"] else 201)
