"""The one writer of chats and chat messages: the REST API, the AI assistant (web and worker)
and tests call these functions; sync pushes and imports write through the same adapters
(`chats/entity.py`, registered in `core.entities`) and the shared entity-write path in
`core.entity_writes`. Nothing else writes these rows.

Both are private to their author: every role may have its own chats, and nobody may touch
anyone else's. Messages are append-only (an assistant message continued after the client's
tool results is the one rewrite, by the server). Every function runs in the caller's
transaction, which must be bound (core.tenancy) to the workspace and to the author.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from chats.entity import ChatEntity, ChatMessageEntity
from chats.models import Chat, ChatMessage, MessageRole
from core.entity_writes import (
    api_writer,
    check_author,
    entity_create,
    entity_tombstone,
    entity_update,
    get_row,
    validate,
)
from core.exceptions import Conflict, NotFound
from core.tenancy.system import system_context
from core.versioning import SERVER_WRITER, VersionClock
from workspaces.models import Membership

MESSAGE_TAKEN = "A message with this id already exists."


def reserve(workspace_id: Any, count: int, *, author_id: Any) -> VersionClock:
    """Versions for rows private to `author_id`: the sync poke after commit goes to that
    member's devices only. One reservation may serve several writes of one request."""
    return VersionClock.reserve(workspace_id, count, private_to=author_id)


def _message_taken() -> Conflict:
    return Conflict(MESSAGE_TAKEN, code="already_exists")


# --- chats ----------------------------------------------------------------------------------


def chat_create(
    *, membership: Membership, fields: dict[str, Any], chat_id: uuid.UUID | None = None
) -> Chat:
    """A chat with the fields given (title, connection_id): a taken id is 409."""
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


def chat_start(
    *,
    workspace_id: Any,
    user: Any,
    chat_id: uuid.UUID,
    connection_id: uuid.UUID | None,
    active_stream_id: str = "",
    clock: VersionClock | None = None,
) -> Chat:
    """A new chat for the member's first message, with the id the client chose, pointing at
    the generation that answers it. The connection was checked by the caller. An id taken in
    this workspace (by a chat of someone else, invisible here) is a 404: the caller learns
    nothing about it."""
    row = entity_create(
        ChatEntity,
        workspace_id=workspace_id,
        user=user,
        fields={"title": "", "connection_id": connection_id},
        writer=api_writer(user),
        row_id=chat_id,
        clock=clock or reserve(workspace_id, 1, author_id=user.pk),
        extra={"active_stream_id": active_stream_id},
        references_checked=True,
        taken=NotFound("Chat not found."),
        savepoint=False,
    )
    assert isinstance(row, Chat)  # noqa: S101 - narrowing for mypy
    return row


def chat_for_update(*, workspace_id: Any, user_id: Any, chat_id: uuid.UUID) -> Chat | None:
    """The member's chat, locked for a write; None when there is no chat with this id, 404
    when it is deleted."""
    chat = (
        Chat.objects.select_for_update()
        .filter(workspace_id=workspace_id, id=chat_id, author_id=user_id)
        .first()
    )
    if chat is not None and chat.deleted:
        raise NotFound("Chat not found.")
    return chat


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


def chat_set_title(chat: Chat, title: str) -> None:
    """The title the assistant chose after the first exchange (writer "server")."""
    fields = validate(ChatEntity, {"title": title}, creating=False)
    ChatEntity.apply(chat, fields)
    clock = reserve(chat.workspace_id, 1, author_id=chat.author_id)
    chat.touch_fields(fields, version=clock.next(), writer=SERVER_WRITER)
    chat.save()


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


def chat_delete(
    *, membership: Membership, chat_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Tombstone the chat; every message in it goes with it (the adapter's cascade: their
    parts and metadata are erased), as when a device deletes it through sync."""
    row = _own_chat(membership, chat_id)
    entity_tombstone(
        ChatEntity, row, writer=api_writer(membership.user), expected_version=expected_version
    )


# --- messages -------------------------------------------------------------------------------


def message_for_update(
    *, workspace_id: Any, user_id: Any, message_id: uuid.UUID
) -> ChatMessage | None:
    """The member's message (live or deleted), locked for a write; None when there is none."""
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
    existing = message_for_update(workspace_id=workspace_id, user_id=user_id, message_id=message_id)
    if existing is None:
        return False
    if existing.chat_id != chat_id or existing.role != MessageRole.USER or existing.deleted:
        raise _message_taken()
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
    """Store the member's message in their chat (locked or just created by the caller; see
    user_message_stored for retries). An id taken anywhere in the workspace is a 409."""
    row = entity_create(
        ChatMessageEntity,
        workspace_id=workspace_id,
        user=user,
        fields={"chat_id": chat_id, "role": MessageRole.USER, "parts": parts, "metadata": metadata},
        writer=api_writer(user),
        row_id=message_id,
        clock=clock or reserve(workspace_id, 1, author_id=user.pk),
        references_checked=True,
        taken=_message_taken(),
        savepoint=False,
    )
    assert isinstance(row, ChatMessage)  # noqa: S101 - narrowing for mypy
    return row


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
    """Append a message of any role to one of the caller's chats (the chat must be theirs and
    live): what an import of a conversation, or a test, writes."""
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
        taken=_message_taken(),
    )
    assert isinstance(created, ChatMessage)  # noqa: S101 - narrowing for mypy
    return created


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
    fields = validate(
        ChatMessageEntity,
        {
            "chat_id": chat_id,
            "role": MessageRole.ASSISTANT,
            "parts": parts,
            "metadata": metadata,
        },
        creating=True,
    )
    row = message_for_update(workspace_id=workspace_id, user_id=user_id, message_id=message_id)
    creating = row is None
    if row is None:
        row = ChatMessage(workspace_id=workspace_id, id=message_id, author_id=user_id)
    elif row.chat_id != chat_id or row.role != MessageRole.ASSISTANT:
        raise _message_taken()
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


def messages_after_regenerate(
    *, workspace_id: Any, user_id: Any, chat_id: uuid.UUID, kept_ids: set[str]
) -> list[ChatMessage]:
    """Stored messages a regeneration drops (locked): those after the last message the client
    kept."""
    stored = list(
        ChatMessage.objects.select_for_update()
        .filter(workspace_id=workspace_id, author_id=user_id, chat_id=chat_id, deleted=False)
        .order_by("created_at", "row_id")
    )
    last_kept = max(
        (index for index, row in enumerate(stored) if str(row.id) in kept_ids), default=-1
    )
    return [row for row in stored[last_kept + 1 :] if str(row.id) not in kept_ids]


def messages_tombstone(rows: Sequence[ChatMessage], *, clock: VersionClock | None = None) -> None:
    """Delete messages (writer "server": a regeneration drops them), a tombstone each with its
    content erased, on versions of `clock` (one per row) when given."""
    if not rows:
        return
    clock = clock or reserve(rows[0].workspace_id, len(rows), author_id=rows[0].author_id)
    for row in rows:
        entity_tombstone(ChatMessageEntity, row, writer=SERVER_WRITER, clock=clock)


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


# --- the title backfill ------------------------------------------------------------------------

TITLE_BACKFILL_BATCH = 500


@dataclass
class TitleBackfillReport:
    workspaces: int = 0
    encrypted: int = 0
    erased: int = 0  # plaintext titles of deleted chats, erased rather than encrypted
    batches: int = 0
    remaining: int = 0  # rows still holding a plaintext title (locked by a writer meanwhile)


def chat_titles_plaintext_count() -> int:
    """How many chats still hold a plaintext title (every workspace, every author)."""
    with system_context():
        return Chat.objects.exclude(title="").count()


def chat_titles_encrypt_plaintext(
    *,
    batch_size: int = TITLE_BACKFILL_BATCH,
    lock_timeout_ms: int = 2000,
    on_batch: Callable[[TitleBackfillReport], None] | None = None,
) -> TitleBackfillReport:
    """Encrypt the plaintext titles earlier releases wrote (`title` → `title_encrypted`) and
    empty the plaintext column, while the service runs (manage.py encrypt_chat_titles).

    Workspaces one by one, rows by primary key in batches; each batch is one short transaction
    bound to the system operator and the workspace (row-level security), with a lock timeout,
    that locks its rows skipping those a writer holds (a request never waits on the backfill
    for more than one batch, and the backfill never waits on a request: a skipped row is taken
    by the next run, or was just written, encrypted, by the request). The wire value does not
    change, so neither does the row's version (`app.maintenance = reencrypt` lets
    `core_sync_guard` accept that) and devices pull nothing new. Deleted chats have their
    plaintext title erased, as every tombstone's content is. Idempotent: a run that stops half
    way is resumed by running it again."""
    report = TitleBackfillReport()
    with system_context():
        workspaces = list(
            Chat.objects.exclude(title="")
            .order_by("workspace_id")
            .values_list("workspace_id", flat=True)
            .distinct()
        )
    for workspace_id in workspaces:
        report.workspaces += 1
        last = 0
        while True:
            with system_context(workspace_id=workspace_id):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"]
                    )
                    cursor.execute("SELECT set_config('app.maintenance', 'reencrypt', true)")
                rows = list(
                    Chat.objects.filter(workspace_id=workspace_id, row_id__gt=last)
                    .exclude(title="")
                    .order_by("row_id")
                    .select_for_update(skip_locked=True)[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    if row.deleted:
                        row.title = ""
                        report.erased += 1
                    else:
                        ChatEntity.apply(row, {"title": row.title})  # seals it, empties `title`
                        report.encrypted += 1
                Chat.objects.bulk_update(rows, ["title", "title_encrypted"])
                last = rows[-1].row_id
            report.batches += 1
            if on_batch is not None:
                on_batch(report)
    report.remaining = chat_titles_plaintext_count()
    return report
