"""Reads of saved queries and query history. History is private to its author: every read
filters on the author as well as the workspace (row-level security is the second lock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from core.entity_writes import check_author, get_row
from queries.entity import QueryHistoryEntity, SavedQueryEntity
from queries.models import QueryHistory, SavedQuery

SAVED_QUERY_ORDERINGS = (
    "name",
    "-name",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
)
HISTORY_ORDERINGS = ("-executed_at", "executed_at", "-created_at", "created_at")


def saved_query_list(
    *,
    workspace_id: uuid.UUID,
    q: str | None = None,
    tag: str | None = None,
    favorite: bool | None = None,
    folder: str | None = None,
    connection_id: str | None = None,
) -> QuerySet[SavedQuery]:
    """Live saved queries of the workspace. `q` searches names (and descriptions); `folder`
    matches the folder and its subfolders (`reports` also finds `reports/monthly`)."""
    queryset = SavedQuery.objects.filter(workspace_id=workspace_id, deleted=False)
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if tag:
        queryset = queryset.filter(tags__contains=[tag])
    if favorite is not None:
        queryset = queryset.filter(favorite=favorite)
    if folder is not None:
        if folder == "":
            queryset = queryset.filter(folder="")
        else:
            prefix = folder.rstrip("/")
            queryset = queryset.filter(Q(folder=prefix) | Q(folder__startswith=prefix + "/"))
    if connection_id:
        queryset = queryset.filter(connection_id=connection_id)
    return queryset


def saved_query_get(*, workspace_id: uuid.UUID, saved_query_id: uuid.UUID) -> SavedQuery:
    row = get_row(SavedQueryEntity, workspace_id=workspace_id, row_id=saved_query_id)
    assert isinstance(row, SavedQuery)  # noqa: S101 - narrowing for mypy
    return row


def saved_query_data(row: SavedQuery) -> dict[str, Any]:
    """The wire form (SQL decrypted) plus its creator."""
    data = SavedQueryEntity.serialize(row)
    data["created_by"] = str(row.created_by_id) if row.created_by_id else None
    return data


def saved_query_data_many(rows: Iterable[SavedQuery]) -> list[dict[str, Any]]:
    """saved_query_data of each row of a page (the SQL decrypted as a batch)."""
    rows = list(rows)
    page = SavedQueryEntity.serialize_many(rows)
    for row, data in zip(rows, page, strict=True):
        data["created_by"] = str(row.created_by_id) if row.created_by_id else None
    return page


def folder_list(*, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every folder in use, with how many live saved queries each holds directly."""
    from django.db.models import Count

    rows = (
        SavedQuery.objects.filter(workspace_id=workspace_id, deleted=False)
        .exclude(folder="")
        .values("folder")
        .annotate(count=Count("row_id"))
        .order_by("folder")
    )
    return [{"folder": r["folder"], "count": r["count"]} for r in rows]


def history_list(
    *,
    workspace_id: uuid.UUID,
    user: Any,
    connection_id: str | None = None,
    success: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    ordering: str = "-executed_at",
) -> QuerySet[QueryHistory]:
    """The caller's live history rows. Time filters apply to `executed_at`; ordering by it
    leaves out rows that have none (a client that did not send one)."""
    queryset = QueryHistory.objects.filter(
        workspace_id=workspace_id, author_id=user.pk, deleted=False
    )
    if connection_id:
        queryset = queryset.filter(connection_id=connection_id)
    if success is not None:
        queryset = queryset.filter(success=success)
    if since is not None:
        queryset = queryset.filter(executed_at__gte=since)
    if until is not None:
        queryset = queryset.filter(executed_at__lt=until)
    if ordering.lstrip("-") == "executed_at":
        queryset = queryset.filter(executed_at__isnull=False)
    return queryset


def history_get(*, workspace_id: uuid.UUID, user: Any, history_id: uuid.UUID) -> QueryHistory:
    row = get_row(QueryHistoryEntity, workspace_id=workspace_id, row_id=history_id)
    check_author(QueryHistoryEntity, row, user)
    assert isinstance(row, QueryHistory)  # noqa: S101 - narrowing for mypy
    return row


def history_data(row: QueryHistory) -> dict[str, Any]:
    return QueryHistoryEntity.serialize(row)


def history_data_many(rows: Iterable[QueryHistory]) -> list[dict[str, Any]]:
    """history_data of each row of a page (SQL and errors decrypted as a batch)."""
    return QueryHistoryEntity.serialize_many(rows)
