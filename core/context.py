"""Per-request (or per-task) context: request id, user id and workspace id.

Kept in contextvars so it follows a request through sync and async code alike, and so log
records, Sentry events and Celery tasks can read it without passing it around.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    user_id: str = "-"
    workspace_id: str = "-"


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "request_context",
    default=RequestContext(),  # noqa: B039 - a frozen dataclass, immutable
)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def clean_request_id(value: str | None) -> str:
    """Accept a client's X-Request-ID only when it is short and harmless; else make one."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return uuid.uuid4().hex


def current() -> RequestContext:
    return _current.get()


def update(**changes: str) -> None:
    ctx = _current.get()
    _current.set(RequestContext(**{**ctx.__dict__, **changes}))


@contextmanager
def bind(**values: str) -> Iterator[RequestContext]:
    token = _current.set(RequestContext(**{**RequestContext().__dict__, **values}))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
