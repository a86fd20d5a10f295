"""Input and output shapes of the chats API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.entities import StrictInput


class ChatRenameInput(StrictInput):
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    expected_version = serializers.IntegerField(required=False, min_value=0)


class ChatOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    connection_id = serializers.UUIDField(allow_null=True)
    active_stream_id = serializers.CharField(
        allow_null=True, help_text="The AI generation streaming now, if any."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ChatMessageOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    chat_id = serializers.UUIDField()
    role = serializers.CharField()
    parts = serializers.ListField(
        child=serializers.JSONField(), help_text="AI SDK UI message parts."
    )
    metadata = serializers.JSONField(allow_null=True)
    model = serializers.CharField()
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)
    finish_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ChatDetailOutput(ChatOutput):
    messages = ChatMessageOutput(many=True, help_text="The latest messages, oldest first.")
    messages_truncated = serializers.BooleanField(
        help_text="True when older messages exist; page through them with the messages list."
    )
