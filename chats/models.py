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
    # The title (it starts as the user's first message) is encrypted like the rest of the
    # chat. `title` is the plaintext column of earlier releases: empty once `manage.py
    # encrypt_chat_titles` has run, emptied by every write, read only while it is not
    # (core.entities.Encrypted.legacy_column); dropped in a later release.
    title = models.CharField(max_length=200, blank=True, default="")
    title_encrypted = EncryptedField()
    connection_id = models.UUIDField(null=True, blank=True)
    # The generation streaming now (a Redis stream id), or "" when none is.
    active_stream_id = models.CharField(max_length=64, blank=True, default="")

    sync_entity: ClassVar[str] = "chat"
    sync_fields: ClassVar[tuple[str, ...]] = ("title", "connection_id")

    class Meta:
        indexes = synced_indexes("chat")
        constraints = synced_constraints("chat")

    def __str__(self) -> str:
        return f"chat {self.id}"  # the title is the author's, and encrypted


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
