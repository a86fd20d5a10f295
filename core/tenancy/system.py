"""The system's own path across workspaces, for beat tasks and management commands.

Row-level security shows a transaction nothing unless it is bound to a workspace (and, for
private rows, to their author), or to an operator. Jobs that must walk every workspace (history
retention, key rotation) bind to the fixed SYSTEM_OPERATOR_ID: no user has that id, no request
can set it (requests bind through WorkspaceScopedApi or the audited admin middleware only).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from core.tenancy.db import set_db_context

SYSTEM_OPERATOR_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


@contextmanager
def system_context(*, workspace_id: uuid.UUID | str | None = None) -> Iterator[None]:
    """A transaction bound to the system operator (every workspace's rows, private ones too),
    and to `workspace_id` when given so that inserts pass the workspace policies' checks."""
    with transaction.atomic():
        set_db_context(workspace_id=workspace_id, user_id=None, operator_id=SYSTEM_OPERATOR_ID)
        yield
