"""Chats and their messages under /api/v1/workspaces/{workspace_id}/chats/: read, rename and
delete one's own chats (every role; nobody sees another member's). Messages are read-only here;
the AI assistant writes them."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from chats import selectors, services
from chats.serializers import ChatDetailOutput, ChatMessageOutput, ChatOutput, ChatRenameInput
from core.api.entities import (
    IF_MATCH_DESCRIPTION,
    expected_version,
    ordering_param,
    page_of,
    text_param,
    uuid_param,
    with_etag,
)
from core.api.pagination import CursorPagination
from workspaces.api.base import WorkspaceScopedApi, no_content
from workspaces.models import Role

TAG = ["chats"]
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False, description=IF_MATCH_DESCRIPTION
)
PAGE_PARAMS = [
    OpenApiParameter("limit", int, description="Page size (at most 500)."),
    OpenApiParameter("cursor", str),
]


def _paginator(ordering: tuple[str, str]) -> CursorPagination:
    paginator = CursorPagination()
    paginator.ordering = ordering
    return paginator


def _order(ordering: str) -> tuple[str, str]:
    return ordering, "-row_id" if ordering.startswith("-") else "row_id"


class ChatListApi(WorkspaceScopedApi):
    @extend_schema(
        tags=TAG,
        operation_id="chats_list",
        parameters=[
            OpenApiParameter("connection_id", uuid.UUID),
            OpenApiParameter(
                "q",
                str,
                description=(
                    "Titles that contain this, ignoring case. Titles are encrypted: the search "
                    f"covers the {selectors.TITLE_SCAN_LIMIT:,} most recently updated chats."
                ),
            ),
            OpenApiParameter(
                "ordering",
                str,
                enum=selectors.CHAT_ORDERINGS,
                description=(
                    "`title`/`-title` sort the "
                    f"{selectors.TITLE_SCAN_LIMIT:,} most recently updated chats by title; "
                    "older ones follow."
                ),
            ),
            *PAGE_PARAMS,
        ],
        responses=page_of(ChatOutput),
    )
    def get(self, request: Request, workspace_id: uuid.UUID) -> Response:
        ordering = ordering_param(request, selectors.CHAT_ORDERINGS, "-updated_at")
        queryset = selectors.chat_list(
            workspace_id=self.workspace.pk,
            user=request.user,
            connection_id=uuid_param(request, "connection_id"),
            q=text_param(request, "q"),
            ordering=ordering,
        )
        paginator = _paginator(selectors.chat_list_order(ordering))
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        data = ChatOutput([selectors.chat_data(r) for r in page], many=True).data
        return paginator.get_paginated_response(data)


class ChatDetailApi(WorkspaceScopedApi):
    write_role = Role.VIEWER  # one's own chats: services check the author

    @extend_schema(tags=TAG, operation_id="chats_read", responses=ChatDetailOutput)
    def get(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Response:
        chat = selectors.chat_get(
            workspace_id=self.workspace.pk, user=request.user, chat_id=chat_id
        )
        data = ChatDetailOutput(selectors.chat_with_messages(chat)).data
        return with_etag(Response(data), chat.version)

    @extend_schema(
        tags=TAG,
        operation_id="chats_rename",
        parameters=[IF_MATCH],
        request=ChatRenameInput,
        responses=ChatOutput,
    )
    def patch(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Response:
        data = ChatRenameInput(data=request.data)
        data.is_valid(raise_exception=True)
        chat = services.chat_rename(
            membership=self.membership,
            chat_id=chat_id,
            title=data.validated_data["title"],
            expected_version=expected_version(request, data.validated_data.get("expected_version")),
        )
        return with_etag(Response(ChatOutput(selectors.chat_data(chat)).data), chat.version)

    @extend_schema(
        tags=TAG, operation_id="chats_delete", parameters=[IF_MATCH], responses={204: None}
    )
    def delete(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Response:
        services.chat_delete(
            membership=self.membership,
            chat_id=chat_id,
            expected_version=expected_version(request),
        )
        return no_content()


class ChatMessageListApi(WorkspaceScopedApi):
    @extend_schema(
        tags=TAG,
        operation_id="chat_messages_list",
        parameters=[
            OpenApiParameter("ordering", str, enum=selectors.MESSAGE_ORDERINGS),
            *PAGE_PARAMS,
        ],
        responses=page_of(ChatMessageOutput),
    )
    def get(self, request: Request, workspace_id: uuid.UUID, chat_id: uuid.UUID) -> Response:
        ordering = ordering_param(request, selectors.MESSAGE_ORDERINGS, "created_at")
        chat = selectors.chat_get(
            workspace_id=self.workspace.pk, user=request.user, chat_id=chat_id
        )
        paginator = _paginator(_order(ordering))
        page = paginator.paginate_queryset(selectors.chat_messages(chat=chat), request, view=self)
        data = ChatMessageOutput(selectors.message_data_many(page or []), many=True).data
        return paginator.get_paginated_response(data)
