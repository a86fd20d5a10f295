"""OpenAPI descriptions of the sync endpoints (shared/design/sync-protocol.md).

The views parse and render the wire format by hand, to the letter of the contract; these
serializers only describe it for the schema and the interactive docs.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

PROTOCOL = OpenApiParameter(
    "X-Sync-Protocol",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Sync protocol version; `1`. Anything else answers 426.",
)

ENTITIES = ["connection", "saved_query", "query_history", "chat", "chat_message"]
STATUSES = ["applied", "merged", "conflict", "rejected", "duplicate"]


class DeviceSchema(serializers.Serializer[dict[str, object]]):
    name = serializers.CharField(required=False)
    platform = serializers.CharField(required=False)
    app_version = serializers.CharField(required=False)


# `fields` and `data` are wire names that collide with Serializer attributes: built from dicts.
MutationSchema = inline_serializer(
    "SyncMutation",
    {
        "mutation_id": serializers.IntegerField(min_value=1),
        "entity": serializers.ChoiceField(choices=ENTITIES),
        "id": serializers.UUIDField(),
        "op": serializers.ChoiceField(choices=["upsert", "delete"]),
        "base_version": serializers.IntegerField(allow_null=True, required=False),
        "fields": serializers.DictField(
            required=False, help_text="Partial update: only named fields."
        ),
    },
)


class PushRequestSchema(serializers.Serializer[dict[str, object]]):
    client_id = serializers.CharField(min_length=8, max_length=64)
    device = DeviceSchema(required=False)
    mutations = serializers.ListField(child=MutationSchema)


class RejectionSchema(serializers.Serializer[dict[str, object]]):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class MutationResultSchema(serializers.Serializer[dict[str, object]]):
    mutation_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=STATUSES)
    id = serializers.UUIDField()
    version = serializers.IntegerField(allow_null=True)
    conflict_id = serializers.UUIDField(required=False)
    original_status = serializers.CharField(required=False, allow_null=True)
    stripped_fields = serializers.ListField(child=serializers.CharField(), required=False)
    error = RejectionSchema(required=False)


class PushResponseSchema(serializers.Serializer[dict[str, object]]):
    results = MutationResultSchema(many=True)
    last_mutation_id = serializers.IntegerField()
    version = serializers.IntegerField()


ChangeSchema = inline_serializer(
    "SyncChange",
    {
        "entity": serializers.ChoiceField(choices=[*ENTITIES, "conflict"]),
        "id": serializers.UUIDField(),
        "op": serializers.ChoiceField(choices=["upsert", "delete"]),
        "version": serializers.IntegerField(),
        "data": serializers.DictField(allow_null=True),
    },
)


class PullResponseSchema(serializers.Serializer[dict[str, object]]):
    changes = serializers.ListField(child=ChangeSchema)
    cursor = serializers.CharField()
    has_more = serializers.BooleanField()
    reset = serializers.BooleanField()
    last_mutation_id = serializers.IntegerField()


class ConflictSchema(serializers.Serializer[dict[str, object]]):
    """`client_fields` and `server_fields` are objects of the entity's wire fields."""

    id = serializers.UUIDField()
    entity = serializers.CharField()
    entity_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["open", "resolved"])
    policy = serializers.ChoiceField(choices=["last_write_wins", "keep_both", "manual"])
    base_version = serializers.IntegerField(allow_null=True)
    server_version = serializers.IntegerField(allow_null=True)
    client_fields = serializers.JSONField()
    server_fields = serializers.JSONField()
    conflicting_fields = serializers.ListField(child=serializers.CharField())
    client_id = serializers.CharField()
    device_name = serializers.CharField(allow_blank=True)
    mutation_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField(allow_null=True)
    resolved_by = serializers.UUIDField(allow_null=True)
    version = serializers.IntegerField()


class ConflictPageSchema(serializers.Serializer[dict[str, object]]):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ConflictSchema(many=True)


ResolveRequestSchema = inline_serializer(
    "SyncResolveRequest",
    {
        "resolution": serializers.ChoiceField(
            choices=["keep_server", "keep_client", "keep_both", "merged"]
        ),
        "fields": serializers.DictField(required=False),
        "expected_version": serializers.IntegerField(),
    },
)


class DeviceOutSchema(serializers.Serializer[dict[str, object]]):
    client_id = serializers.CharField()
    device = DeviceSchema()
    last_push_at = serializers.DateTimeField(allow_null=True)
    last_pull_at = serializers.DateTimeField(allow_null=True)
    last_mutation_id = serializers.IntegerField()


class DevicePageSchema(serializers.Serializer[dict[str, object]]):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DeviceOutSchema(many=True)
