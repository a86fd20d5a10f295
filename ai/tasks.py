"""Celery tasks of the assistant: thin, they take ids and call a service."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction

from core import context


class _Unobserved:
    """What sending returns for a task nobody waits on. Celery's AsyncResult would build a
    result-backend client for the calling thread (a new Redis connection pool, ~2 ms), and under
    ASGI every request runs in a thread of its own."""

    def __init__(self, task_id: str) -> None:
        self.id = task_id


def enqueue_ai_task(task: Any, *args: Any) -> None:
    """Enqueue on AI_CELERY_QUEUE once the current transaction commits (at once outside one):
    the worker must see the rows the request wrote."""
    send = partial(
        task.app.send_task,
        task.name,
        args=args,
        queue=settings.AI_CELERY_QUEUE,
        headers={"request_id": context.current().request_id},
        ignore_result=True,
        result_cls=_Unobserved,
        add_to_parent=False,
    )
    transaction.on_commit(send)


# Acknowledged when received: a generation is not worth redelivering after a worker died (the
# client has seen half an answer and the stream's reader fails it as stalled).
@shared_task(name="ai.generate_reply", acks_late=False, ignore_result=True)
def generate_reply(generation_id: str, workspace_id: str, user_id: str, chat_id: str) -> None:
    from ai.services.generation import generation_run

    context.update(workspace_id=workspace_id, user_id=user_id)
    generation_run(
        generation_id=generation_id, workspace_id=workspace_id, user_id=user_id, chat_id=chat_id
    )


@shared_task(
    name="ai.title_chat",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    max_retries=3,
    retry_backoff=True,
)
def title_chat(workspace_id: str, user_id: str, chat_id: str) -> None:
    from ai.services.titles import chat_title_write

    chat_title_write(workspace_id=workspace_id, user_id=user_id, chat_id=uuid.UUID(chat_id))
