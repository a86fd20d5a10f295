"""Connections API under /api/v1/workspaces/{workspace_id}/connections/.

List and read return metadata to every member (viewers included): secrets never, only whether
each is set. `POST .../reveal` returns them to members and up, and is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from connections import selectors, services
from connections.models import Engine
from connections.serializers import (
    ConnectionCreateInput,
    ConnectionOutput,
    ConnectionSecretsOutput,
    ConnectionUpdateInput,
)
from core.api.entities import (
    IF_MATCH_DESCRIPTION,
    expected_version,
    invalid_param,
    ordering_param,
    page_of,
    text_param,
    with_etag,
)
from core.api.pagination import CursorPagination
from workspaces.api.base import WorkspaceScopedApi, no_content

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
