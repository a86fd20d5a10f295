"""Starting, resuming and stopping chat replies (the web side of a generation)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from ai import conversation, protocol, streams
from ai.guardrails import resolve_dialect
from ai.services import usage
from chats import selectors as chat_selectors
from chats import services as chat_services
from connections.selectors import connection_engine
from core.exceptions import ApplicationError, Conflict, NotFound
from core.tasks import enqueue_on_commit
from workspaces.models import Membership

if TYPE_CHECKING:
    from chats.models import Chat

# The AI SDK's UI message roles (the same words as a stored message's role).
USER, ASSISTANT = "user", "assistant"
SUBMIT = "submit-message"
REGENERATE = "regenerate-message"


@dataclass(frozen=True)
class ReplyStarted:
    generation_id: str
    message_id: str
    chat_id: str


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        "Some fields are invalid.", code="validation_error", fields={field: [message]}
    )


def _message_uuid(message: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(message.get("id")))
    except ValueError:
        raise _invalid(
            "messages",
            "The id of a new message must be a UUID (the AI SDK's generateId option: "
            "() => crypto.randomUUID()).",
        ) from None


def _resolve_context(*, workspace_id: Any, context: dict[str, Any]) -> dict[str, Any]:
    """The context the worker gets: the connection checked, the dialect known."""
    connection_id = context.get("connection_id")
    engine = ""
    if connection_id:
        found = connection_engine(workspace_id=workspace_id, connection_id=connection_id)
        if found is None:
            raise _invalid("context.connection_id", "No connection with this id.")
        engine = found
    dialect = context.get("dialect") or engine or "postgres"
    if resolve_dialect(dialect) is None:
        raise _invalid(
            "context.dialect",
            "Unsupported dialect; use postgres, mysql, mariadb, mssql, clickhouse or sqlite.",
        )
    return {
        "connection_id": str(connection_id) if connection_id else None,
        "dialect": dialect,
        "schema": context.get("schema"),
        "editor_sql": context.get("editor_sql") or "",
    }


def chat_reply_start(
    *,
    membership: Membership,
    chat_id: uuid.UUID,
    messages: list[dict[str, Any]],
    trigger: str,
    message_id: str | None,
    context: dict[str, Any],
) -> ReplyStarted:
    """Save the member's message, open a generation and enqueue it (on commit).

    The last message decides: a user message gets a new assistant reply; an assistant message
    (the client's tool results for it) is continued under its own id. A regeneration drops the
    stored messages after the last one the client kept. `message_id` (the SDK's `messageId`)
    is accepted as sent and not needed: the messages say it all."""
    workspace, user = membership.workspace, membership.user
    last = messages[-1]
    role = last.get("role")
    if role not in (USER, ASSISTANT):
        raise _invalid("messages", "The last message must be the user's or the assistant's.")
    last_id = _message_uuid(last)

    usage.ai_request_admit(workspace=workspace, user=user, generation=True)
    resolved = _resolve_context(workspace_id=workspace.pk, context=context)

    chat = chat_services.chat_for_update(
        workspace_id=workspace.pk, user_id=user.pk, chat_id=chat_id
    )
    if (
        chat is not None
        and chat.active_stream_id
        and streams.generation_is_live(chat.active_stream_id)
    ):
        raise Conflict(
            "The assistant is still answering in this chat. Stop it or wait for it to finish.",
            code="reply_in_progress",
        )
    dropped = []
    if trigger == REGENERATE and chat is not None:
        kept = {str(m.get("id")) for m in messages}
        dropped = chat_services.messages_after_regenerate(
            workspace_id=workspace.pk, user_id=user.pk, chat_id=chat.id, kept_ids=kept
        )

    base_parts: list[dict[str, Any]] = []
    store_user_message = False
    if role == USER:
        # A new chat holds no message yet: its insert alone refuses an id taken elsewhere
        # (409 already_exists, as user_message_stored would), one query fewer per new chat.
        store_user_message = chat is None or not chat_services.user_message_stored(
            workspace_id=workspace.pk, user_id=user.pk, chat_id=chat_id, message_id=last_id
        )
        reply_id = uuid.uuid4()
    else:
        client_parts = [p for p in last.get("parts") or [] if isinstance(p, dict)]
        stored = chat_services.message_for_update(
            workspace_id=workspace.pk, user_id=user.pk, message_id=last_id
        )
        if stored is not None and (stored.chat_id != chat_id or stored.role != ASSISTANT):
            raise NotFound("Message not found.")
        if stored is not None and not stored.deleted:
            base_parts = conversation.merge_tool_results(
                chat_selectors.message_parts(stored), client_parts
            )
        else:
            base_parts = client_parts
        reply_id = last_id

    generation_id = streams.new_generation_id()
    # The worker's task is published when this transaction commits. Registered before the
    # writes below, it is the first of the commit hooks: the worker starts before the sync poke
    # to the member's other devices goes out, not after it.
    enqueue_on_commit(
        "ai.generate_reply",
        generation_id,
        str(workspace.pk),
        str(user.pk),
        str(chat_id),
        queue=settings.AI_CELERY_QUEUE,
    )

    # One reservation for every row this request writes: the chat (created, or pointed at the
    # new generation), the tombstones of a regeneration, the user's message.
    clock = chat_services.reserve(
        workspace.pk, 1 + len(dropped) + int(store_user_message), author_id=user.pk
    )
    if chat is None:
        connection_id = resolved["connection_id"]
        chat = chat_services.chat_start(
            workspace_id=workspace.pk,
            user=user,
            chat_id=chat_id,
            connection_id=uuid.UUID(connection_id) if connection_id else None,
            active_stream_id=generation_id,
            clock=clock,
        )
    else:
        chat_services.chat_set_active_stream(chat, generation_id, clock=clock)
    chat_services.messages_tombstone(dropped, clock=clock)
    if store_user_message:
        chat_services.user_message_create(
            workspace_id=workspace.pk,
            user=user,
            chat_id=chat.id,
            message_id=last_id,
            parts=last.get("parts") or [],
            metadata=last.get("metadata") if isinstance(last.get("metadata"), dict) else None,
            clock=clock,
        )

    streams.generation_open(
        generation_id=generation_id,
        workspace_id=str(workspace.pk),
        user_id=str(user.pk),
        chat_id=str(chat.id),
        message_id=str(reply_id),
        request={
            "workspace_id": str(workspace.pk),
            "user_id": str(user.pk),
            "chat_id": str(chat.id),
            "message_id": str(reply_id),
            "messages": messages,
            "base_parts": base_parts,
            "context": resolved,
            "approve_all_sql": bool(workspace.ai_approve_all_sql),
        },
        first_chunks=[protocol.start(str(reply_id))],
    )
    usage.track_generation(user_id=user.pk, generation_id=generation_id)
    return ReplyStarted(generation_id, str(reply_id), str(chat.id))


def _own_chat(membership: Membership, chat_id: uuid.UUID) -> Chat:
    chat = chat_selectors.chat_live(
        workspace_id=membership.workspace_id, user_id=membership.user_id, chat_id=chat_id
    )
    if chat is None:
        raise NotFound("Chat not found.")
    return chat


@dataclass(frozen=True)
class ResumePoint:
    generation_id: str
    after: str  # stream entry to read after ("0": from the start)


def chat_resume_point(
    *, membership: Membership, chat_id: uuid.UUID, last_event_id: str | None
) -> ResumePoint | None:
    """Where a reader of the chat's stream starts, or None when there is nothing to read.

    With a Last-Event-ID of one of this chat's generations (a plain EventSource reconnecting),
    right after that event, while the generation's chunks are kept; otherwise the active
    generation from its first chunk (the AI SDK rebuilds the message from `start`). A
    generation of another workspace, member or chat (chat ids are unique per workspace only)
    is nothing to read, exactly like an unknown one."""
    chat = _own_chat(membership, chat_id)
    position = streams.parse_event_id(last_event_id)
    if position is not None:
        generation_id, after = position
        info = _generation_of_chat(membership, chat, generation_id)
        if info is None:
            return None
        # A live generation is followed even if nothing newer is written yet; an ended one
        # only while something after `after` is left to read (at least its end).
        if not info.live and not streams.generation_has_more_sync(generation_id, after):
            return None
        return ResumePoint(generation_id, after)
    generation_id = chat.active_stream_id
    if not generation_id or not streams.is_generation_id(generation_id):
        return None
    info = _generation_of_chat(membership, chat, generation_id)
    if info is None or not info.live:
        return None
    return ResumePoint(generation_id, "0")


def _generation_of_chat(
    membership: Membership, chat: Chat, generation_id: str
) -> streams.GenerationInfo | None:
    return streams.generation_of(
        generation_id,
        workspace_id=membership.workspace_id,
        user_id=membership.user_id,
        chat_id=chat.id,
    )


def chat_reply_stop(*, membership: Membership, chat_id: uuid.UUID) -> str | None:
    """Ask the chat's running generation to stop (the worker ends it within a second, saves
    what was written and appends `abort`). Returns its id, or None when nothing runs."""
    chat = _own_chat(membership, chat_id)
    generation_id = chat.active_stream_id
    if not generation_id:
        return None
    if _generation_of_chat(membership, chat, generation_id) is None:
        return None
    if not streams.generation_request_stop(generation_id):
        return None
    return generation_id
