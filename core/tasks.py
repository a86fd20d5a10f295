"""Enqueueing Celery tasks: the one helper every service uses.

Services name the task they want run (`enqueue_on_commit("accounts.send_email", payload)`)
and never import a tasks module: tasks are thin and call services, so an import the other way
would close a circle. The name is looked up in Celery's registry when the task is enqueued, so
a wrong name fails in the request, not silently in the broker.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from celery import Task, current_app, shared_task
from django.db import transaction

from core import context


@shared_task(name="core.echo", acks_late=True)
def echo(value: str) -> dict[str, str]:
    """Round-trip probe: proves a worker consumes from the broker and writes a result."""
    return {"value": value, "worker_pid": str(os.getpid())}


class Unobserved:
    """What sending returns for a task nobody waits on."""

    def __init__(self, task_id: str) -> None:
        self.id = task_id


class FireAndForget(Task[..., Any]):
    """Base of tasks whose result nobody reads (declare them with `ignore_result=True`).
    Sending one builds no AsyncResult: Celery's would create a result-backend client for the
    calling thread (a new Redis connection pool, ~2 ms), and under ASGI every request runs in
    a thread of its own."""

    def AsyncResult(self, task_id: str, **kwargs: Any) -> Any:
        return Unobserved(task_id)


def task_named(name: str) -> Any:
    """The registered task `name`. In a web process the tasks modules are imported on first
    use (Celery's autodiscovery runs when the default modules are imported)."""
    app = current_app
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue_on_commit(task: str | Any, *args: Any, queue: str | None = None, **kwargs: Any) -> None:
    """Enqueue a task (by its registered name, or the task itself from another task) once the
    current transaction commits, at once when there is none.

    A task enqueued inside a transaction that later rolls back would act on rows that never
    existed; after commit it always sees them. The request id travels in the task headers so the
    worker's log lines join the request's. `queue` overrides the task's route (the assistant's
    tasks go to AI_CELERY_QUEUE)."""
    resolved = task_named(task) if isinstance(task, str) else task
    options: dict[str, Any] = {
        "headers": {"request_id": context.current().request_id},
        "add_to_parent": False,
    }
    if queue:
        options["queue"] = queue
    transaction.on_commit(partial(resolved.apply_async, args=args, kwargs=kwargs, **options))
