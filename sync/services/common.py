"""Helpers shared by the sync services: who wrote a field, transient database failures."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from core.exceptions import ServiceUnavailable
from core.tenancy import set_db_context

logger = logging.getLogger(__name__)

T = TypeVar("T")

# serialization_failure, deadlock_detected, lock_not_available (lock_timeout), query_canceled
# (statement_timeout), admin_shutdown, crash_shutdown, cannot_connect_now
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"})


def client_writer(user_id: uuid.UUID | str, client_id: str) -> str:
    """The writer stamp of one client in `field_versions` (short: it is stored per field)."""
    digest = hashlib.blake2b(f"{user_id}:{client_id}".encode(), digest_size=8).hexdigest()
    return f"c:{digest}"


def resolution_writer(user_id: uuid.UUID | str) -> str:
    digest = hashlib.blake2b(f"resolve:{user_id}".encode(), digest_size=8).hexdigest()
    return f"r:{digest}"


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in TRANSIENT_SQLSTATES:
        return True
    # No SQLSTATE at all on an OperationalError: the server could not be reached.
    return isinstance(exc, OperationalError) and sqlstate is None


def run_bound(
    work: Callable[[], T],
    *,
    workspace_id: uuid.UUID | str,
    user_id: uuid.UUID | str,
    what: str,
    lock_timeout_ms: int | None = None,
) -> T:
    """Run `work` in a fresh transaction bound to the workspace and user (row-level security),
    retried on transient failures; after the last attempt the caller gets 503 + Retry-After.
    Nothing `work` did in a failed attempt is kept: its transaction rolled back."""
    attempts = settings.SYNC_PUSH_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                set_db_context(workspace_id=workspace_id, user_id=user_id)
                if lock_timeout_ms:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"]
                        )
                return work()
        except DatabaseError as exc:
            if not is_transient(exc):
                raise
            logger.warning("sync %s: transient failure (attempt %d): %s", what, attempt, exc)
            if connection.connection is not None and not connection.is_usable():
                connection.close()
            if attempt < attempts:
                time.sleep(0.05 * attempt)
    raise ServiceUnavailable(
        "The database is busy or unavailable. Nothing of this request was applied; retry it.",
        code="service_unavailable",
        headers={"Retry-After": str(settings.SYNC_RETRY_AFTER_SECONDS)},
        extra={"retry_after": settings.SYNC_RETRY_AFTER_SECONDS},
    )


def with_context(*, workspace_id: Any, user_id: Any) -> None:
    set_db_context(workspace_id=workspace_id, user_id=user_id)
