"""The API's one JSON error shape.

    {"error": {"code": "validation_error", "message": "Human sentence.",
               "fields": {"name": ["This field is required."]},   # validation errors only
               "request_id": "…", ...extra}}

`code` is stable and machine-readable; `message` is a short sentence a client may show as is.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from core import context


def error_body(
    code: str,
    message: str,
    *,
    fields: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    if extra:
        for key, value in extra.items():
            error.setdefault(key, value)
    error["request_id"] = context.current().request_id
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    response = JsonResponse(
        error_body(code, message, fields=fields, extra=extra), status=status, headers=headers
    )
    return response
