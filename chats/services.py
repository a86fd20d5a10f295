"""Writes on chats and messages. Both are private to their author: every role may have its
own chats, and nobody may touch anyone else's. Messages are append-only; writing them over the
API comes with the AI assistant (its services call `chat_message_append`).
"""

from __future__ import annotations

import uuid
from typing import Any

from chats.entity import ChatEntity, ChatMessageEntity
from chats.models import Chat, ChatMessage
from core.entity_writes import (
    api_writer,
    check_author,
    entity_create,
    entity_tombstone,
    entity_tombstone_many,
    entity_update,
    get_row,
)
from workspaces.models import Membership


def chat_create(
    *, membership: Membership, fields: dict[str, Any], chat_id: uuid.UUID | None = None
) -> Chat:
    row = entity_create(
        ChatEntity,
        workspace_id=membership.workspace_id,
        user=membership.user,
        fields=fields,
        writer=api_writer(membership.user),
        row_id=chat_id,
    )
    assert isinstance(row, Chat)  # noqa: S101 - narrowing for mypy
    return row


def _own_chat(membership: Membership, chat_id: uuid.UUID) -> Chat:
    row = get_row(ChatEntity, workspace_id=membership.workspace_id, row_id=chat_id, for_update=True)
    check_author(ChatEntity, row, membership.user)
    assert isinstance(row, Chat)  # noqa: S101 - narrowing for mypy
    return row


def chat_rename(
    *,
    membership: Membership,
    chat_id: uuid.UUID,
    title: str,
    expected_version: int | None = None,
) -> Chat:
    row = _own_chat(membership, chat_id)
    entity_update(
        ChatEntity,
        row,
        fields={"title": title},
        writer=api_writer(membership.user),
        expected_version=expected_version,
    )
    return row


def chat_delete(
    *, membership: Membership, chat_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Tombstone the chat and every message in it (their parts and metadata are erased)."""
    row = _own_chat(membership, chat_id)
    writer = api_writer(membership.user)
    entity_tombstone(ChatEntity, row, writer=writer, expected_version=expected_version)
    messages = ChatMessage.objects.filter(
        workspace_id=row.workspace_id, author_id=row.author_id, chat_id=row.id
    )
    entity_tombstone_many(ChatMessageEntity, messages, writer=writer)


def chat_message_append(
    *,
    membership: Membership,
    fields: dict[str, Any],
    message_id: uuid.UUID | None = None,
    model: str = "",
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    finish_reason: str = "",
) -> ChatMessage:
    """Append a message to one of the caller's chats (the chat must be theirs and live)."""
    chat_id = fields.get("chat_id")
    if chat_id is not None:
        _own_chat(membership, chat_id)
    created = entity_create(
        ChatMessageEntity,
        workspace_id=membership.workspace_id,
        user=membership.user,
        fields=fields,
        writer=api_writer(membership.user),
        row_id=message_id,
        extra={
            "model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "finish_reason": finish_reason,
        },
    )
    assert isinstance(created, ChatMessage)  # noqa: S101 - narrowing for mypy
    return created


def chat_message_delete(
    *, membership: Membership, message_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Delete one of the caller's messages (append-only: never changed, only tombstoned)."""
    row = get_row(
        ChatMessageEntity,
        workspace_id=membership.workspace_id,
        row_id=message_id,
        for_update=True,
    )
    check_author(ChatMessageEntity, row, membership.user)
    entity_tombstone(
        ChatMessageEntity,
        row,
        writer=api_writer(membership.user),
        expected_version=expected_version,
    )
