"""Input and output shapes of the saved query and query history APIs. Validation rules live in
the entity adapters; these declare types for parsing and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.entities import StrictInput, ZonedDateTimeField


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


class _SavedQueryFields(StrictInput):
    name = _text()
    description = _text()
    sql = _text()
    connection_id = serializers.UUIDField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    favorite = serializers.BooleanField(required=False)
    folder = _text(help_text="Slash-separated path, e.g. reports/monthly; empty: no folder.")


class SavedQueryCreateInput(_SavedQueryFields):
    id = serializers.UUIDField(required=False, help_text="Client-chosen id (default: a new one).")


class SavedQueryUpdateInput(_SavedQueryFields):
    expected_version = serializers.IntegerField(required=False, min_value=0)


class SavedQueryOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    sql = serializers.CharField()
    connection_id = serializers.UUIDField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    favorite = serializers.BooleanField()
    folder = serializers.CharField()
    created_by = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FolderOutput(serializers.Serializer[Any]):
    folder = serializers.CharField()
    count = serializers.IntegerField()


class HistoryRecordInput(StrictInput):
    id = serializers.UUIDField(required=False, help_text="Client-chosen id (default: a new one).")
    sql = serializers.CharField(trim_whitespace=False)
    connection_id = serializers.UUIDField(required=False, allow_null=True)
    executed_at = ZonedDateTimeField(required=False, allow_null=True)
    duration_ms = serializers.IntegerField(required=False, allow_null=True)
    rows = serializers.IntegerField(required=False, allow_null=True)
    success = serializers.BooleanField(required=False, allow_null=True)
    error = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )


class HistoryOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    sql = serializers.CharField()
    connection_id = serializers.UUIDField(allow_null=True)
    executed_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True)
    success = serializers.BooleanField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeletedCountOutput(serializers.Serializer[Any]):
    deleted = serializers.IntegerField()
