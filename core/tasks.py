from __future__ import annotations

from celery import shared_task


@shared_task(name="core.echo", acks_late=True)
def echo(value: str) -> dict[str, str]:
    """Round-trip probe: proves a worker consumes from the broker and writes a result."""
    import os

    return {"value": value, "worker_pid": str(os.getpid())}


def enqueue_on_commit(task: object, *args: object, **kwargs: object) -> None:
    """Enqueue a task once the current transaction commits (at once when there is none).

    A task enqueued inside a transaction that later rolls back would act on rows that never
    existed; after commit it always sees them. The request id travels in the task headers so the
    worker's log lines join the request's.
    """
    from functools import partial

    from django.db import transaction

    from core import context

    send = partial(
        task.apply_async,  # type: ignore[attr-defined]
        args=args,
        kwargs=kwargs,
        headers={"request_id": context.current().request_id},
    )
    transaction.on_commit(send)
