from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core import context
from core.api.errors import error_response

logger = logging.getLogger("dbw.request")

_PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class RequestContextMiddleware:
    """Accepts and echoes X-Request-ID, binds the request context, logs one line per request."""

    async_capable = True
    sync_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _start(self, request: HttpRequest) -> str:
        request_id = context.clean_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]  # our own attribute
        return request_id

    def _finish(self, request: HttpRequest, response: HttpResponse, started: float) -> None:
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]  # set in _start
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            context.update(user_id=str(user.pk))
        if request.path in _PROBE_PATHS and response.status_code < 400:
            return
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        started = time.perf_counter()
        with context.bind(request_id=self._start(request)):
            # Not a coroutine function (is_async is False): Django hands a sync handler here.
            response = cast(HttpResponse, self.get_response(request))
            self._finish(request, response, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        with context.bind(request_id=self._start(request)):
            # A coroutine function (is_async is True): its call is awaitable.
            response = await cast(Awaitable[HttpResponse], self.get_response(request))
            self._finish(request, response, started)
        return response


class BodySizeLimitMiddleware:
    """Refuses a declared body over MAX_REQUEST_BYTES with 413, before anything reads it.

    Under ASGI, config.asgi.BodyLimitASGI refuses it even earlier (and also catches chunked
    bodies that declare no length); this middleware covers WSGI and the test client.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            declared = int(length)
        except ValueError:
            return error_response(400, "bad_request", "Content-Length is not a number.")
        if declared > settings.MAX_REQUEST_BYTES:
            return too_large_response()
        return self.get_response(request)


def too_large_response() -> HttpResponse:
    return error_response(
        413,
        "request_too_large",
        f"The request body is larger than the limit of {settings.MAX_REQUEST_BYTES} bytes.",
        extra={"limit_bytes": settings.MAX_REQUEST_BYTES},
    )


class ProbeMiddleware:
    """Answers /healthz and /readyz before the host and HTTPS-redirect checks.

    The PaaS probes machines by their private address over plain HTTP; those requests must not
    be refused by ALLOWED_HOSTS or redirected to HTTPS.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in _PROBE_PATHS and request.method in ("GET", "HEAD"):
            from core import health

            return health.healthz() if request.path == "/healthz" else health.readyz()
        return self.get_response(request)


def _is_pool_timeout(exception: BaseException) -> bool:
    """True for a request that waited DATABASE_POOL_TIMEOUT for a pooled connection (Django
    wraps psycopg_pool.PoolTimeout in its own OperationalError)."""
    from psycopg_pool import PoolTimeout

    seen: BaseException | None = exception
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, PoolTimeout):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class DatabaseBusyMiddleware:
    """Every pooled database connection busy for DATABASE_POOL_TIMEOUT seconds is overload, not a
    bug: the client gets 503 `service_unavailable` with Retry-After instead of a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_pool_timeout(exception):
            return None
        logger.warning("database pool exhausted: %s %s answered 503", request.method, request.path)
        return error_response(
            503,
            "service_unavailable",
            "The service is busy. Try again in a moment.",
            extra={"retry_after": 1},
            headers={"Retry-After": "1"},
        )
