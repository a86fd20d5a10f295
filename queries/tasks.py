from __future__ import annotations

from celery import shared_task

from queries import services


@shared_task(name="queries.enforce_history_retention", acks_late=True)
def enforce_history_retention() -> int:
    """Beat (daily): purge query history older than each workspace's retention. Idempotent, so
    a redelivered run only finds less to delete."""
    return sum(services.history_retention_enforce().values())
