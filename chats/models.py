from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from core.crypto.fields import EncryptedField
from core.versioning import SyncedModel, synced_constraints, synced_indexes


class Chat(SyncedModel):
    """An AI conversation. Private to its author."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, blank=True, default="")
    connection_id = models.UUIDField(null=True, blank=True)
    # The generation streaming now (a Redis stream id), or "" when none is.
    active_stream_id = models.CharField(max_length=64, blank=True, default="")

    sync_entity: ClassVar[str] = "chat"
    sync_fields: ClassVar[tuple[str, ...]] = ("title", "connection_id")

    class Meta:
        indexes = synced_indexes("chat")
        constraints = synced_constraints("chat")

    def __str__(self) -> str:
        return self.title or f"chat {self.id}"


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"


class ChatMessage(SyncedModel):
    """One message: AI SDK UI message parts, encrypted. Private to the chat's author;
    append-only."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    chat_id = models.UUIDField()
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    parts_encrypted = EncryptedField()
    metadata_encrypted = EncryptedField()
    model = models.CharField(max_length=100, blank=True, default="")
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True, default="")

    sync_entity: ClassVar[str] = "chat_message"
    sync_fields: ClassVar[tuple[str, ...]] = ("chat_id", "role", "parts", "metadata")

    class Meta:
        indexes = [
            *synced_indexes("chatmsg"),
            models.Index(fields=("workspace", "chat_id", "created_at"), name="chatmsg_chat_time"),
        ]
        constraints = synced_constraints("chatmsg")

    def __str__(self) -> str:
        return f"{self.role} message {self.id}"
