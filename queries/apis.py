"""Saved queries (shared) and query history (private to its author) under
/api/v1/workspaces/{workspace_id}/."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.entities import (
    IF_MATCH_DESCRIPTION,
    bool_param,
    datetime_param,
    expected_version,
    ordering_param,
    page_of,
    text_param,
    uuid_param,
    with_etag,
)
from core.api.pagination import CursorPagination
from queries import selectors, services
from queries.serializers import (
    DeletedCountOutput,
    FolderOutput,
    HistoryOutput,
    HistoryRecordInput,
    SavedQueryCreateInput,
    SavedQueryOutput,
    SavedQueryUpdateInput,
)
from workspaces.api.base import WorkspaceScopedApi, no_content
from workspaces.models import Role

SAVED_TAG = ["saved queries"]
HISTORY_TAG = ["query history"]
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False, description=IF_MATCH_DESCRIPTION
)
PAGE_PARAMS = [
    OpenApiParameter("limit", int, description="Page size (at most 500)."),
    OpenApiParameter("cursor", str),
]


def _paginator(ordering: str) -> CursorPagination:
    paginator = CursorPagination()
    paginator.ordering = (ordering, "-row_id" if ordering.startswith("-") else "row_id")
    return paginator


def _saved_output(row: Any, status: int = 200) -> Response:
    data = SavedQueryOutput(selectors.saved_query_data(row)).data
    return with_etag(Response(data, status=status), row.version)


class SavedQueryListCreateApi(WorkspaceScopedApi):
    @extend_schema(
        tags=SAVED_TAG,
        operation_id="saved_queries_list",
        parameters=[
            OpenApiParameter("q", str, description="Search in names and descriptions."),
            OpenApiParameter("tag", str, description="Saved queries carrying this tag."),
            OpenApiParameter("favorite", bool),
            OpenApiParameter(
                "folder", str, description="This folder and its subfolders; empty: no folder."
            ),
            OpenApiParameter("connection_id", uuid.UUID),
            OpenApiParameter("ordering", str, enum=selectors.SAVED_QUERY_ORDERINGS),
            *PAGE_PARAMS,
        ],
        responses=page_of(SavedQueryOutput),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        ordering = ordering_param(request, selectors.SAVED_QUERY_ORDERINGS, "name")
        queryset = selectors.saved_query_list(
            workspace_id=self.workspace.pk,
            q=text_param(request, "q"),
            tag=text_param(request, "tag", max_length=64),
            favorite=bool_param(request, "favorite"),
            folder=text_param(request, "folder", max_length=500),
            connection_id=uuid_param(request, "connection_id"),
        )
        paginator = _paginator(ordering)
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        data = SavedQueryOutput(selectors.saved_query_data_many(page), many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        tags=SAVED_TAG,
        operation_id="saved_queries_create",
        request=SavedQueryCreateInput,
        responses={201: SavedQueryOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = SavedQueryCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        row = services.saved_query_create(
            membership=self.membership, fields=fields, saved_query_id=fields.pop("id", None)
        )
        return _saved_output(row, status=201)


class SavedQueryFolderListApi(WorkspaceScopedApi):
    @extend_schema(
        tags=SAVED_TAG,
        operation_id="saved_query_folders_list",
        responses=FolderOutput(many=True),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        folders = selectors.folder_list(workspace_id=self.workspace.pk)
        return Response(FolderOutput(folders, many=True).data)


class SavedQueryDetailApi(WorkspaceScopedApi):
    @extend_schema(tags=SAVED_TAG, operation_id="saved_queries_read", responses=SavedQueryOutput)
    def get(self, request: Request, workspace_id: uuid.UUID, saved_query_id: uuid.UUID) -> Response:
        row = selectors.saved_query_get(
            workspace_id=self.workspace.pk, saved_query_id=saved_query_id
        )
        return _saved_output(row)

    @extend_schema(
        tags=SAVED_TAG,
        operation_id="saved_queries_update",
        parameters=[IF_MATCH],
        request=SavedQueryUpdateInput,
        responses=SavedQueryOutput,
    )
    def patch(
        self, request: Request, workspace_id: uuid.UUID, saved_query_id: uuid.UUID
    ) -> Response:
        data = SavedQueryUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        expected = expected_version(request, fields.pop("expected_version", None))
        row = services.saved_query_update(
            membership=self.membership,
            saved_query_id=saved_query_id,
            fields=fields,
            expected_version=expected,
        )
        return _saved_output(row)

    @extend_schema(
        tags=SAVED_TAG,
        operation_id="saved_queries_delete",
        parameters=[IF_MATCH],
        responses={204: None},
    )
    def delete(
        self, request: Request, workspace_id: uuid.UUID, saved_query_id: uuid.UUID
    ) -> Response:
        services.saved_query_delete(
            membership=self.membership,
            saved_query_id=saved_query_id,
            expected_version=expected_version(request),
        )
        return no_content()


class HistoryListApi(WorkspaceScopedApi):
    """The caller's own query history (every role has one; nobody sees anyone else's)."""

    write_role = Role.VIEWER

    @extend_schema(
        tags=HISTORY_TAG,
        operation_id="history_list",
        parameters=[
            OpenApiParameter("connection_id", uuid.UUID),
            OpenApiParameter("success", bool),
            OpenApiParameter("since", str, description="executed_at >= since (RFC 3339)."),
            OpenApiParameter("until", str, description="executed_at < until (RFC 3339)."),
            OpenApiParameter("ordering", str, enum=selectors.HISTORY_ORDERINGS),
            *PAGE_PARAMS,
        ],
        responses=page_of(HistoryOutput),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        ordering = ordering_param(request, selectors.HISTORY_ORDERINGS, "-executed_at")
        queryset = selectors.history_list(
            workspace_id=self.workspace.pk,
            user=request.user,
            connection_id=uuid_param(request, "connection_id"),
            success=bool_param(request, "success"),
            since=datetime_param(request, "since"),
            until=datetime_param(request, "until"),
            ordering=ordering,
        )
        paginator = _paginator(ordering)
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        data = HistoryOutput(selectors.history_data_many(page), many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        tags=HISTORY_TAG,
        operation_id="history_record",
        request=HistoryRecordInput,
        responses={201: HistoryOutput},
    )
    def post(self, request: Request, workspace_id: uuid.UUID) -> Response:
        data = HistoryRecordInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        row = services.history_record(
            membership=self.membership, fields=fields, history_id=fields.pop("id", None)
        )
        data_out = HistoryOutput(selectors.history_data(row)).data
        return with_etag(Response(data_out, status=201), row.version)

    @extend_schema(
        tags=HISTORY_TAG,
        operation_id="history_delete_all",
        parameters=[
            OpenApiParameter("connection_id", uuid.UUID, description="Only this connection's.")
        ],
        responses=DeletedCountOutput,
    )
    def delete(self, request: Request, workspace_id: uuid.UUID) -> Response:
        deleted = services.history_delete_all(
            membership=self.membership, connection_id=uuid_param(request, "connection_id")
        )
        return Response(DeletedCountOutput({"deleted": deleted}).data)


class HistoryDetailApi(WorkspaceScopedApi):
    write_role = Role.VIEWER

    @extend_schema(tags=HISTORY_TAG, operation_id="history_read", responses=HistoryOutput)
    def get(self, request: Request, workspace_id: uuid.UUID, history_id: uuid.UUID) -> Response:
        row = selectors.history_get(
            workspace_id=self.workspace.pk, user=request.user, history_id=history_id
        )
        return with_etag(Response(HistoryOutput(selectors.history_data(row)).data), row.version)

    @extend_schema(
        tags=HISTORY_TAG,
        operation_id="history_delete",
        parameters=[IF_MATCH],
        responses={204: None},
    )
    def delete(self, request: Request, workspace_id: uuid.UUID, history_id: uuid.UUID) -> Response:
        services.history_delete(
            membership=self.membership,
            history_id=history_id,
            expected_version=expected_version(request),
        )
        return no_content()
