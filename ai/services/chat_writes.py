"""The assistant's writes to chats and messages, through the same entity adapters and version
clock as sync pushes and the REST API: validation, encryption at rest and versioning are the
sync path's, so the author's other devices pull every change.

Every function runs in the caller's transaction, which must be bound (core.tenancy) to the
workspace and to the chat's author: chats and messages are private to their author.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chats.entity import ChatEntity, ChatMessageEntity
from chats.models import Chat, ChatMessage, MessageRole
from core.entities import FieldError
from core.exceptions import ApplicationError, Conflict, NotFound
from core.versioning import SERVER_WRITER, VersionClock


def reserve(workspace_id: Any, count: int, *, author_id: Any) -> VersionClock:
    """Versions for rows private to `author_id`: the sync poke after commit goes to that
    member's devices only."""
    return VersionClock.reserve(workspace_id, count, private_to=author_id)


def user_writer(user_id: Any) -> str:
    """Writes made on the member's behalf carry the same writer id as their REST writes."""
    return f"api:{user_id}"


def _validate(adapter: Any, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    try:
        clean: dict[str, Any] = adapter.validate(fields, creating=creating)
        return clean
    except FieldError as error:
        raise ApplicationError(
            "Some fields are invalid.",
            code="validation_error",
            fields={error.field or "non_field_errors": [error.message]},
        ) from None


def _insert(row: Any, error: Exception) -> None:
    """Insert, turning a taken id into `error`. No savepoint (two round trips on the hot path of
    every chat message): after the error the caller's transaction is rolled back, which is what
    the API does with any error answer."""
    try:
        row.save(force_insert=True)
    except IntegrityError:
        transaction.set_rollback(True)
        raise error from None


def chat_for_update(*, workspace_id: Any, user_id: Any, chat_id: uuid.UUID) -> Chat | None:
    """The member's live chat, locked; None when there is no chat with this id."""
    chat = (
        Chat.objects.select_for_update()
        .filter(workspace_id=workspace_id, id=chat_id, author_id=user_id)
        .first()
    )
    if chat is not None and chat.deleted:
        raise NotFound("Chat not found.")
    return chat


def chat_create(
    *,
    workspace_id: Any,
    user: Any,
    chat_id: uuid.UUID,
    connection_id: uuid.UUID | None,
    active_stream_id: str = "",
    clock: VersionClock | None = None,
) -> Chat:
    """A new chat with the id the client chose. An id taken in this workspace (by a chat of
    someone else, invisible here) is a 404: the caller learns nothing about it."""
    fields = _validate(ChatEntity, {"title": "", "connection_id": connection_id}, creating=True)
    row = ChatEntity.new_row(workspace_id=workspace_id, user=user, row_id=chat_id)
    assert isinstance(row, Chat)  # noqa: S101 - narrowing for mypy
    ChatEntity.apply(row, fields)
    row.active_stream_id = active_stream_id
    clock = clock or reserve(workspace_id, 1, author_id=user.pk)
    row.touch_fields(fields, version=clock.next(), writer=user_writer(user.pk))
    _insert(row, NotFound("Chat not found."))
    return row


def chat_set_active_stream(
    chat: Chat, generation_id: str, *, clock: VersionClock | None = None
) -> None:
    """Point the chat at its generation streaming now ("" when none is). The row's version moves
    with it, so the author's devices see the chat as changed (a chat list sorted by activity)."""
    chat.active_stream_id = generation_id
    clock = clock or reserve(chat.workspace_id, 1, author_id=chat.author_id)
    chat.version = clock.next()
    chat.updated_at = timezone.now()
    chat.save(update_fields=["active_stream_id", "version", "updated_at"])


def chat_clear_active_stream(
    *, workspace_id: Any, user_id: Any, chat_id: uuid.UUID, generation_id: str
) -> Chat | None:
    """Clear the chat's active generation if it is still this one."""
    chat = (
        Chat.objects.select_for_update()
        .filter(workspace_id=workspace_id, id=chat_id, author_id=user_id)
        .first()
    )
    if chat is not None and chat.active_stream_id == generation_id:
        chat_set_active_stream(chat, "")
    return chat


def chat_set_title(chat: Chat, title: str) -> None:
    fields = _validate(ChatEntity, {"title": title}, creating=False)
    ChatEntity.apply(chat, fields)
    clock = reserve(chat.workspace_id, 1, author_id=chat.author_id)
    chat.touch_fields(fields, version=clock.next(), writer=SERVER_WRITER)
    chat.save()


def message_get(*, workspace_id: Any, user_id: Any, message_id: uuid.UUID) -> ChatMessage | None:
    return (
        ChatMessage.objects.select_for_update()
        .filter(workspace_id=workspace_id, id=message_id, author_id=user_id)
        .first()
    )


def user_message_stored(
    *, workspace_id: Any, user_id: Any, chat_id: uuid.UUID, message_id: uuid.UUID
) -> bool:
    """Whether the member's message is stored already: sending it again (a retried request)
    stores nothing new. Its id used by any other message is a 409."""
    existing = message_get(workspace_id=workspace_id, user_id=user_id, message_id=message_id)
    if existing is None:
        return False
    if existing.chat_id != chat_id or existing.role != MessageRole.USER or existing.deleted:
        raise Conflict("A message with this id already exists.", code="already_exists")
    return True


def user_message_create(
    *,
    workspace_id: Any,
    user: Any,
    chat_id: uuid.UUID,
    message_id: uuid.UUID,
    parts: list[Any],
    metadata: dict[str, Any] | None,
    clock: VersionClock | None = None,
) -> ChatMessage:
    """Store the member's message (see user_message_stored for retries)."""
    fields = _validate(
        ChatMessageEntity,
        {"chat_id": chat_id, "role": MessageRole.USER, "parts": parts, "metadata": metadata},
        creating=True,
    )
    row = ChatMessageEntity.new_row(workspace_id=workspace_id, user=user, row_id=message_id)
    assert isinstance(row, ChatMessage)  # noqa: S101 - narrowing for mypy
    ChatMessageEntity.apply(row, fields)
    clock = clock or reserve(workspace_id, 1, author_id=user.pk)
    row.touch_fields(fields, version=clock.next(), writer=user_writer(user.pk))
    _insert(row, Conflict("A message with this id already exists.", code="already_exists"))
    return row


def assistant_message_save(
    *,
    workspace_id: Any,
    user_id: Any,
    chat_id: uuid.UUID,
    message_id: uuid.UUID,
    parts: list[dict[str, Any]],
    metadata: dict[str, Any],
    model: str,
    input_tokens: int,
    output_tokens: int,
    finish_reason: str,
) -> ChatMessage:
    """Write the assistant's message (writer "server"). A continuation after the client's tool
    results rewrites the same message, with the earlier steps' tokens added in."""
    fields = _validate(
        ChatMessageEntity,
        {
            "chat_id": chat_id,
            "role": MessageRole.ASSISTANT,
            "parts": parts,
            "metadata": metadata,
        },
        creating=True,
    )
    row = message_get(workspace_id=workspace_id, user_id=user_id, message_id=message_id)
    creating = row is None
    if row is None:
        row = ChatMessage(workspace_id=workspace_id, id=message_id, author_id=user_id)
    elif row.chat_id != chat_id or row.role != MessageRole.ASSISTANT:
        raise Conflict("A message with this id already exists.", code="already_exists")
    else:
        input_tokens += row.input_tokens or 0
        output_tokens += row.output_tokens or 0
        row.deleted = False
        row.deleted_at = None
    ChatMessageEntity.apply(row, fields)
    row.model = (model or "")[:100]
    row.input_tokens = input_tokens
    row.output_tokens = output_tokens
    row.finish_reason = (finish_reason or "")[:32]
    clock = reserve(workspace_id, 1, author_id=user_id)
    changed = fields if creating else ("parts", "metadata")
    row.touch_fields(changed, version=clock.next(), writer=SERVER_WRITER)
    row.save(force_insert=creating)
    return row


def messages_tombstone(rows: Sequence[ChatMessage], *, clock: VersionClock | None = None) -> None:
    """Delete messages the way sync does: a tombstone with its content erased."""
    if not rows:
        return
    clock = clock or reserve(rows[0].workspace_id, len(rows), author_id=rows[0].author_id)
    now = timezone.now()
    for row in rows:
        cleared = [
            name
            for name in ChatMessageEntity.encrypted
            if getattr(row, f"{name}_encrypted") is not None
        ]
        for name in ChatMessageEntity.encrypted:
            setattr(row, f"{name}_encrypted", None)
        row.deleted = True
        row.deleted_at = now
        row.touch_fields(cleared, version=clock.next(), writer=SERVER_WRITER)
        row.save()


def messages_after_regenerate(
    *, workspace_id: Any, user_id: Any, chat_id: uuid.UUID, kept_ids: set[str]
) -> list[ChatMessage]:
    """Stored messages a regeneration drops: those after the last message the client kept."""
    stored = list(
        ChatMessage.objects.select_for_update()
        .filter(workspace_id=workspace_id, author_id=user_id, chat_id=chat_id, deleted=False)
        .order_by("created_at", "row_id")
    )
    last_kept = max(
        (index for index, row in enumerate(stored) if str(row.id) in kept_ids), default=-1
    )
    return [row for row in stored[last_kept + 1 :] if str(row.id) not in kept_ids]


def stored_parts(message: ChatMessage) -> list[dict[str, Any]]:
    parts = ChatMessageEntity.read(message, "parts")
    return parts if isinstance(parts, list) else []
