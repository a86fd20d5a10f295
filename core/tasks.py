"""Enqueueing Celery tasks: the one helper every service uses.

Services name the task they want run (`enqueue_on_commit("accounts.send_email", payload)`)
and never import a tasks module: tasks are thin and call services, so an import the other way
would close a circle. The name is looked up in Celery's registry when the task is enqueued, so
a wrong name fails in the request, not silently in the broker.
"""

from __future__ import annotations

import os
import re
import uuid
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


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _shape(value: Any) -> str:
    """An argument as logs may show it: ids (UUIDs), numbers, booleans and None as they are;
    anything else by its type and size only."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, uuid.UUID) or (isinstance(value, str) and _UUID.fullmatch(value)):
        return repr(str(value))
    if isinstance(value, str):
        return f"<str: {len(value)} chars>"
    if isinstance(value, dict):
        return f"<dict: {len(value)} keys>"
    if isinstance(value, list | tuple):
        return f"<{type(value).__name__}: {len(value)} items>"
    return f"<{type(value).__name__}>"


def task_arguments_repr(args: Any, kwargs: Any) -> tuple[str, str]:
    """(argsrepr, kwargsrepr) of a task message: what the worker logs when it receives, runs,
    retries or fails the task (Celery's default is the full repr: an email task's would be
    the rendered message, verification code and invitation link included)."""
    args_repr = "(" + ", ".join(_shape(value) for value in args or ()) + ")"
    items = (f"{key!r}: {_shape(value)}" for key, value in (kwargs or {}).items())
    kwargs_repr = "{" + ", ".join(items) + "}"
    return args_repr, kwargs_repr


def redact_published_arguments(
    body: Any = None, headers: dict[str, Any] | None = None, **_: Any
) -> None:
    """`before_task_publish` receiver (connected in config/celery.py, so every process that
    publishes, web, worker retries and beat, runs it): replaces the message's argsrepr and
    kwargsrepr, which Celery logs, with task_arguments_repr. The arguments themselves travel
    unchanged."""
    if headers is None or "argsrepr" not in headers:
        return
    args, kwargs = ((), {})
    if isinstance(body, list | tuple) and len(body) >= 2:
        args, kwargs = body[0], body[1]
    headers["argsrepr"], headers["kwargsrepr"] = task_arguments_repr(args, kwargs)


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
