from __future__ import annotations

from chats.models import Chat, ChatMessage, MessageRole
from core import entities as e


class ChatEntity(e.EntityAdapter):
    entity = "chat"
    model = Chat
    validators = {
        "title": e.text(200),
        "connection_id": e.uuid_ref(),
    }
    # Encrypted since the column `title_encrypted` was added; `title` holds the plaintext of
    # rows the backfill (manage.py encrypt_chat_titles) has not reached yet.
    encrypted = {"title": e.Encrypted(legacy_column="title")}
    references = {"connection_id": "connection"}
    private = True
    writers = "author"
    cascade_deletes = {"chat_message": "chat_id"}


class ChatMessageEntity(e.EntityAdapter):
    entity = "chat_message"
    model = ChatMessage
    validators = {
        "chat_id": e.uuid_ref(nullable=False),
        "role": e.choice(MessageRole.values),
        "parts": e.json_list(),
        "metadata": e.json_object(),
    }
    encrypted = {"parts": e.Encrypted(json=True), "metadata": e.Encrypted(json=True)}
    references = {"chat_id": "chat"}
    required_on_create = ("chat_id", "role", "parts")
    private = True
    append_only = True
    writers = "author"
