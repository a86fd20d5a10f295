"""Celery tasks of the assistant: thin, they take ids and call a service. Services enqueue them
by name (`core.tasks.enqueue_on_commit("ai.generate_reply", ..., queue=AI_CELERY_QUEUE)`)."""

from __future__ import annotations

import uuid

from celery import shared_task

from ai.services.generation import generation_run
from ai.services.titles import chat_title_write
from core import context
from core.tasks import FireAndForget


# Acknowledged when received: a generation is not worth redelivering after a worker died (the
# client has seen half an answer and the stream's reader fails it as stalled).
@shared_task(name="ai.generate_reply", base=FireAndForget, acks_late=False, ignore_result=True)
def generate_reply(generation_id: str, workspace_id: str, user_id: str, chat_id: str) -> None:
    context.update(workspace_id=workspace_id, user_id=user_id)
    generation_run(
        generation_id=generation_id, workspace_id=workspace_id, user_id=user_id, chat_id=chat_id
    )


@shared_task(
    name="ai.title_chat",
    base=FireAndForget,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    max_retries=3,
    retry_backoff=True,
)
def title_chat(workspace_id: str, user_id: str, chat_id: str) -> None:
    chat_title_write(workspace_id=workspace_id, user_id=user_id, chat_id=uuid.UUID(chat_id))
