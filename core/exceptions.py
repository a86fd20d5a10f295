"""The one domain error of the service.

Services raise ApplicationError (or a subclass) with a stable machine-readable `code`, a short
human sentence, and an HTTP status; the API's exception handler renders every error in the one
JSON shape documented in docs/api.md.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status_code = status
        self.extra = extra or {}
        self.fields = fields
        self.headers = headers or {}


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class PaymentRequired(ApplicationError):
    status_code = 402
    code = "plan_limit"


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
