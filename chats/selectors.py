"""Reads of chats and their messages: private to their author, so every read filters on the
author as well as the workspace (row-level security is the second lock)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import IntegerField, QuerySet
from django.db.models.expressions import RawSQL

from chats.entity import ChatEntity, ChatMessageEntity
from chats.models import Chat, ChatMessage
from core.entity_writes import check_author, get_row

CHAT_ORDERINGS = ("-updated_at", "updated_at", "-created_at", "created_at", "title", "-title")
MESSAGE_ORDERINGS = ("created_at", "-created_at")
# Messages returned inline with a chat; the messages endpoint pages through all of them.
INLINE_MESSAGES = 200
# Titles are encrypted, so the database can neither search nor sort them: `q` and the title
# orderings decrypt the titles of the member's most recently updated chats, this many at most
# (docs/api.md, chats). Older chats are not searched, and come last when sorting by title.
TITLE_SCAN_LIMIT = 2000


def chat_list(
    *,
    workspace_id: uuid.UUID,
    user: Any,
    connection_id: str | None = None,
    q: str | None = None,
    ordering: str = "-updated_at",
) -> QuerySet[Chat]:
    """The member's live chats; order them with chat_list_order(ordering). `q` finds titles
    that contain it, ignoring case."""
    queryset = Chat.objects.filter(workspace_id=workspace_id, author_id=user.pk, deleted=False)
    if connection_id:
        queryset = queryset.filter(connection_id=connection_id)
    by_title = ordering.lstrip("-") == "title"
    if not q and not by_title:
        return queryset
    titles = _recent_titles(queryset)
    if q:
        needle = q.casefold()
        titles = [(chat_id, title) for chat_id, title in titles if needle in title.casefold()]
        queryset = queryset.filter(id__in=[chat_id for chat_id, _ in titles])
    if by_title:
        ranked = sorted(
            titles,
            key=lambda item: (item[1].casefold(), item[1], str(item[0])),
            reverse=ordering.startswith("-"),
        )
        # Chats beyond the scan (no q) rank after every scanned one.
        queryset = queryset.annotate(
            title_rank=RawSQL(
                'coalesce(array_position(%s::uuid[], "chats_chat"."id"), %s)',
                ([str(chat_id) for chat_id, _ in ranked], len(ranked) + 1),
                output_field=IntegerField(),
            )
        )
    return queryset


def chat_list_order(ordering: str) -> tuple[str, str]:
    """The pagination order of chat_list(ordering=...): the field, then the row id."""
    if ordering.lstrip("-") == "title":
        return "title_rank", "row_id"  # the rank already runs in the direction asked for
    return ordering, "-row_id" if ordering.startswith("-") else "row_id"


def _recent_titles(queryset: QuerySet[Chat]) -> list[tuple[uuid.UUID, str]]:
    """(id, decrypted title) of the TITLE_SCAN_LIMIT most recently updated chats."""
    rows = list(
        queryset.only("row_id", "id", "workspace_id", "title", "title_encrypted").order_by(
            "-updated_at", "-row_id"
        )[:TITLE_SCAN_LIMIT]
    )
    titles = ChatEntity.read_many(rows, "title")
    return [(row.id, title or "") for row, title in zip(rows, titles, strict=True)]


def chat_title(chat: Chat) -> str:
    """The chat's title, decrypted ("" when it has none yet)."""
    title = ChatEntity.read(chat, "title")
    return title if isinstance(title, str) else ""


def chat_get(*, workspace_id: uuid.UUID, user: Any, chat_id: uuid.UUID) -> Chat:
    row = get_row(ChatEntity, workspace_id=workspace_id, row_id=chat_id)
    check_author(ChatEntity, row, user)
    assert isinstance(row, Chat)  # noqa: S101 - narrowing for mypy
    return row


def chat_live(*, workspace_id: Any, user_id: Any, chat_id: uuid.UUID) -> Chat | None:
    """The member's chat unless it is deleted or not theirs (None: the caller's 404)."""
    chat = Chat.objects.filter(workspace_id=workspace_id, id=chat_id, author_id=user_id).first()
    return None if chat is None or chat.deleted else chat


def chat_first_messages(
    *, workspace_id: Any, user_id: Any, chat_id: uuid.UUID, count: int
) -> list[ChatMessage]:
    """The chat's first `count` live messages, oldest first (a title is made from them)."""
    return list(
        ChatMessage.objects.filter(
            workspace_id=workspace_id, author_id=user_id, chat_id=chat_id, deleted=False
        ).order_by("created_at", "row_id")[:count]
    )


def message_parts(message: ChatMessage) -> list[dict[str, Any]]:
    """A message's parts, decrypted (a list; anything else stored reads as none)."""
    parts = ChatMessageEntity.read(message, "parts")
    return parts if isinstance(parts, list) else []


def message_text(message: ChatMessage) -> str:
    """The text parts of a message, one per line."""
    return "\n".join(
        str(part.get("text") or "")
        for part in message_parts(message)
        if isinstance(part, dict) and part.get("type") == "text"
    ).strip()


def chat_messages(*, chat: Chat) -> QuerySet[ChatMessage]:
    return ChatMessage.objects.filter(
        workspace_id=chat.workspace_id, author_id=chat.author_id, chat_id=chat.id, deleted=False
    )


def chat_data(row: Chat) -> dict[str, Any]:
    data = ChatEntity.serialize(row)
    data["active_stream_id"] = row.active_stream_id or None
    return data


def chat_with_messages(row: Chat) -> dict[str, Any]:
    """The chat and its latest INLINE_MESSAGES messages, oldest first."""
    latest = list(chat_messages(chat=row).order_by("-created_at", "-row_id")[: INLINE_MESSAGES + 1])
    truncated = len(latest) > INLINE_MESSAGES
    messages = message_data_many(reversed(latest[:INLINE_MESSAGES]))
    return {**chat_data(row), "messages": messages, "messages_truncated": truncated}


def message_data(row: ChatMessage) -> dict[str, Any]:
    return _with_usage(row, ChatMessageEntity.serialize(row))


def message_data_many(rows: Iterable[ChatMessage]) -> list[dict[str, Any]]:
    """message_data of each row of a page (parts and metadata decrypted as a batch)."""
    rows = list(rows)
    page = ChatMessageEntity.serialize_many(rows)
    return [_with_usage(row, data) for row, data in zip(rows, page, strict=True)]


def _with_usage(row: ChatMessage, data: dict[str, Any]) -> dict[str, Any]:
    data.update(
        model=row.model,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        finish_reason=row.finish_reason,
    )
    return data
