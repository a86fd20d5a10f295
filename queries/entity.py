from __future__ import annotations

from core import entities as e
from queries.models import QueryHistory, SavedQuery

SQL_MAX = 1_000_000


class SavedQueryEntity(e.EntityAdapter):
    entity = "saved_query"
    model = SavedQuery
    validators = {
        "name": e.text(200, min_length=1),
        "description": e.text(10_000),
        "sql": e.text(SQL_MAX),
        "connection_id": e.uuid_ref(),
        "tags": e.string_list(),
        "favorite": e.boolean(),
        "folder": e.text(500),
    }
    encrypted = {"sql": e.Encrypted()}
    references = {"connection_id": "connection"}
    required_on_create = ("name",)


class QueryHistoryEntity(e.EntityAdapter):
    entity = "query_history"
    model = QueryHistory
    validators = {
        "sql": e.text(SQL_MAX, min_length=1),
        "connection_id": e.uuid_ref(),
        "executed_at": e.timestamp(),
        "duration_ms": e.integer(min_value=0, max_value=2**31 - 1),
        "rows": e.integer(min_value=0),
        "success": e.boolean(nullable=True),
        "error": e.text(100_000, nullable=True),
    }
    encrypted = {"sql": e.Encrypted(), "error": e.Encrypted()}
    references = {"connection_id": "connection"}
    required_on_create = ("sql",)
    private = True
    append_only = True
    writers = "author"
