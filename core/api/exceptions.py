from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from core.api.errors import error_body, error_response
from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_request",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _validation_fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten(detail if isinstance(detail, list) else [detail])}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error becomes the one JSON error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        body = error_body(exc.code, exc.message, fields=exc.fields, extra=exc.extra)
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        from core.middleware import too_large_response

        return Response(json.loads(too_large_response().content), status=413)
    if isinstance(exc, drf.ValidationError):
        fields = _validation_fields(exc.detail)
        body = error_body("validation_error", "Some fields are invalid.", fields=fields)
        return Response(body, status=400)
    if isinstance(exc, drf.APIException):
        # Set on some instances only: DRF's view on a 401, Throttled's seconds to wait.
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait:
            headers["Retry-After"] = str(int(wait))
        code = _DRF_CODES.get(type(exc))
        if code is None:
            code = next(
                (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)),
                str(exc.default_code),
            )
        message = (
            str(exc.detail) if not isinstance(exc.detail, (list, dict)) else str(exc.default_detail)
        )
        if isinstance(exc, drf.Throttled):
            message = "Too many requests. Try again later."
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request was refused."), status=400)
    return None  # unexpected: Django's handler500 renders the JSON 500


# Django-level handlers (URL resolver 404, CSRF 403, DisallowedHost 400, unhandled 500): the
# same shape as DRF errors, so a client never has to parse an HTML page.
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(400, "bad_request", "The request could not be understood.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(403, "permission_denied", "You do not have permission to do this.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "not_found", "Not found.")


def handler500(request: HttpRequest) -> JsonResponse:
    return error_response(500, "server_error", "Something went wrong on our side. It was logged.")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return error_response(
        403,
        "csrf_failed",
        "CSRF check failed. Send the X-CSRFToken header from the csrftoken cookie.",
    )
