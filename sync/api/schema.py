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


class HolderUserSchema(serializers.Serializer[dict[str, object]]):
    id = serializers.UUIDField(allow_null=True)
    email = serializers.EmailField(
        allow_null=True, help_text="Null when the account no longer exists."
    )
    role = serializers.CharField(
        allow_null=True, help_text="The role in this workspace; null: no longer a member."
    )


class HolderDeliverySchema(serializers.Serializer[dict[str, object]]):
    secret_version = serializers.IntegerField(
        help_text=(
            "The version of the secrets delivered: the highest field version of the row's "
            "secret fields, or the conflict record's version (never the value or a hash of it)."
        )
    )
    conflict_id = serializers.UUIDField(
        allow_null=True, help_text="Set when the secrets came inside this conflict record."
    )
    first_delivered_at = serializers.DateTimeField()


class HolderDeviceSchema(serializers.Serializer[dict[str, object]]):
    user = HolderUserSchema()
    client_id = serializers.CharField()
    registered = serializers.BooleanField(
        help_text="False once the device was forgotten or expired: it may still hold the secret."
    )
    device = DeviceSchema(allow_null=True)
    last_pull_at = serializers.DateTimeField(allow_null=True)
    holds_current = serializers.BooleanField(
        help_text="Received the secrets the row holds now (current_secret_version)."
    )
    deliveries = HolderDeliverySchema(many=True)


class HolderRestDeliverySchema(serializers.Serializer[dict[str, object]]):
    action = serializers.ChoiceField(choices=["connection.secrets_revealed", "data.exported"])
    user = HolderUserSchema()
    at = serializers.DateTimeField()
    audit_event_id = serializers.IntegerField()


class SecretHoldersSchema(serializers.Serializer[dict[str, object]]):
    entity = serializers.CharField()
    id = serializers.UUIDField()
    current_secret_version = serializers.IntegerField(
        allow_null=True, help_text="Null: the row is deleted or holds no secret."
    )
    devices = HolderDeviceSchema(many=True)
    rest_deliveries = HolderRestDeliverySchema(
        many=True,
        help_text=(
            "Audited REST deliveries, newest first (at most 100; the audit log has the rest): "
            "reveals of this connection and exports with secrets made since it was created."
        ),
    )
