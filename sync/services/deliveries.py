"""The secret delivery ledger: which device received which version of which row's secrets.

A pull page that hands secrets to a device records them with one statement before the page
is answered (docs/security.md, "Who holds this secret"). The first delivery of each version
to each device is what counts: the unique key drops the repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import connection

from sync.models import SecretDelivery
from sync.selectors import Delivery

_TABLE = SecretDelivery._meta.db_table


def record_secret_deliveries(
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    client_id: str,
    deliveries: Sequence[Delivery],
) -> int:
    """Record `deliveries` to one device in one `INSERT ... ON CONFLICT DO NOTHING` (in the
    caller's transaction, bound to the workspace). Returns how many were new.

    Called in a READ COMMITTED transaction of its own after the pull's snapshot is read: under
    REPEATABLE READ a conflicting row committed by a concurrent pull of the same device would
    be a serialization failure instead of a quiet no-op."""
    if not deliveries:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} "  # noqa: S608 - the table name comes from the model
            "(workspace_id, entity, row_id, secret_version, conflict_id, user_id, client_id, "
            "first_delivered_at) "
            "SELECT %s, d.entity, d.row_id, d.secret_version, d.conflict_id, %s, %s, now() "
            "FROM unnest(%s::text[], %s::uuid[], %s::bigint[], %s::uuid[]) "
            "AS d(entity, row_id, secret_version, conflict_id) "
            "ON CONFLICT (workspace_id, entity, row_id, user_id, client_id, secret_version) "
            "DO NOTHING",
            [
                str(workspace_id),
                str(user_id),
                client_id,
                [d.entity for d in deliveries],
                [str(d.row_id) for d in deliveries],
                [d.secret_version for d in deliveries],
                [str(d.conflict_id) if d.conflict_id else None for d in deliveries],
            ],
        )
        return int(cursor.rowcount)
