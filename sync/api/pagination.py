from __future__ import annotations

from core.api.pagination import CursorPagination


class SyncListPagination(CursorPagination):
    """The API's cursor pagination (records in `results`), newest first."""

    ordering = ("-created_at", "-id")
