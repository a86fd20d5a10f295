"""Database access from the AI worker: bounded, and never held across a stream.

A worker process runs many generations at once (one thread each) but touches the database only
at their end, to save the answer and the usage. Those moments cluster (answers started together
end together), so each process lets at most AI_WORKER_DB_CONCURRENCY of them in at once, and
gives its connection back when done: a thread streaming for a minute holds no connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection

from core.tenancy import db_context

_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    with _lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(int(settings.AI_WORKER_DB_CONCURRENCY))
        return _slots


@contextmanager
def worker_db(*, workspace_id: Any, user_id: Any) -> Iterator[None]:
    """A transaction bound to the workspace and member (row-level security), taken from a
    bounded number per process; the thread's connection is closed afterwards (unless an outer
    transaction, as in a test, still needs it)."""
    with _semaphore():
        try:
            with db_context(workspace_id=workspace_id, user_id=user_id):
                yield
        finally:
            if not connection.in_atomic_block:
                connection.close()
