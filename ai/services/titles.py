"""Titles for new chats, written after their first exchange."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from ai import prompts
from ai.providers import ChatRequest, Message, ProviderError, complete
from ai.services import usage
from ai.services.worker_db import worker_db
from chats import selectors as chat_selectors
from chats import services as chat_services
from core.exceptions import NotFound

logger = logging.getLogger("ai.titles")

MAX_TITLE = 80


def fallback_title(text: str, limit: int = 60) -> str:
    """The first user message, on one line, cut at a word boundary."""
    line = " ".join((text or "").split())
    if len(line) <= limit:
        return line or "New chat"
    cut = line[:limit].rsplit(" ", 1)[0] or line[:limit]
    return cut.rstrip(",.;:-") + "…"


def chat_title_write(*, workspace_id: Any, user_id: Any, chat_id: uuid.UUID) -> str | None:
    """Title the chat from its first exchange, unless it has a title by now. The model writes
    it (task "sql": the cheap model); when providers fail, the first user message, cut short."""
    try:
        return _chat_title_write(workspace_id=workspace_id, user_id=user_id, chat_id=chat_id)
    except NotFound:
        return None  # deleted meanwhile


def _chat_title_write(*, workspace_id: Any, user_id: Any, chat_id: uuid.UUID) -> str | None:
    with worker_db(workspace_id=workspace_id, user_id=user_id):
        chat = chat_services.chat_for_update(
            workspace_id=workspace_id, user_id=user_id, chat_id=chat_id
        )
        if chat is None or chat_selectors.chat_title(chat):
            return None
        messages = chat_selectors.chat_first_messages(
            workspace_id=workspace_id, user_id=user_id, chat_id=chat_id, count=4
        )
    first_user = next((m for m in messages if m.role == "user"), None)
    if first_user is None:
        return None
    question = chat_selectors.message_text(first_user)
    answer = next((chat_selectors.message_text(m) for m in messages if m.role == "assistant"), "")
    title = ""
    try:
        result = complete(
            ChatRequest(
                messages=[Message.user(f"User: {question[:2000]}\n\nAssistant: {answer[:2000]}")],
                system=prompts.chat_title(),
                task="sql",
                max_output_tokens=60,
                json_output=True,
            )
        )
        parsed = result.json()
        title = " ".join(str(parsed.get("title") or "").split()).strip("\"' ")[:MAX_TITLE]
        with worker_db(workspace_id=workspace_id, user_id=user_id):
            if result.usage is not None:
                usage.usage_record(
                    workspace_id=workspace_id,
                    user_id=user_id,
                    model=result.model,
                    input_tokens=result.usage.input_tokens,
                    output_tokens=result.usage.output_tokens,
                )
    except (ProviderError, AttributeError) as error:
        logger.info("chat title from the model failed (%r); using the first message", error)
    title = title or fallback_title(question)
    with worker_db(workspace_id=workspace_id, user_id=user_id):
        chat = chat_services.chat_for_update(
            workspace_id=workspace_id, user_id=user_id, chat_id=chat_id
        )
        if chat is None or chat_selectors.chat_title(chat):
            return None
        chat_services.chat_set_title(chat, title)
    return title
