from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from ai.guardrails import ENGINE_DIALECTS, MAX_SQL_CHARS

DIALECTS = sorted(ENGINE_DIALECTS)
MAX_MESSAGES = 2_000
MAX_TEXT = 100_000


def _dialect_field(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=DIALECTS, **kwargs)


class SchemaField(serializers.JSONField):
    """The client's schema: {"tables": [...], "enums": [...]} (see docs/ai.md)."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError('Expected an object like {"tables": [...]}.')
        if isinstance(value, dict) and not isinstance(value.get("tables", []), list):
            raise serializers.ValidationError("tables must be a list.")
        return value


# --- chat ----------------------------------------------------------------------------------
class AiChatContextInput(serializers.Serializer[dict[str, object]]):
    connection_id = serializers.UUIDField(required=False, allow_null=True)
    dialect = _dialect_field(required=False, allow_blank=True)
    schema = SchemaField(required=False, allow_null=True)
    editor_sql = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT, trim_whitespace=False
    )


class AiChatMessagesInput(serializers.Serializer[dict[str, object]]):
    """The body of the AI SDK's DefaultChatTransport, plus `context`."""

    id = serializers.CharField(required=False, help_text="The chat id (as in the URL).")
    messages = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_MESSAGES
    )
    trigger = serializers.ChoiceField(
        choices=["submit-message", "regenerate-message"], default="submit-message"
    )
    messageId = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    # Popped into the declared fields by DRF's metaclass; the stubs see `Field.context`.
    context = AiChatContextInput(required=False)  # type: ignore[assignment]  # see the comment above

    def validate_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, message in enumerate(messages):
            if message.get("role") not in ("user", "assistant", "system"):
                raise serializers.ValidationError(
                    f"Message {index}: role must be user, assistant or system."
                )
            if not isinstance(message.get("parts"), list):
                raise serializers.ValidationError(f"Message {index}: parts must be a list.")
            if not isinstance(message.get("id"), str):
                raise serializers.ValidationError(f"Message {index}: id must be a string.")
        return messages


class AiStopOutput(serializers.Serializer[Mapping[str, object]]):
    generation_id = serializers.CharField()
    stopping = serializers.BooleanField()


# --- guardrail and approvals ---------------------------------------------------------------------
class AiGuardrailVerdictOutput(serializers.Serializer[Mapping[str, object]]):
    kind = serializers.ChoiceField(choices=["read_only", "write", "ddl", "unknown"])
    allowed_readonly = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    statement_count = serializers.IntegerField()
    normalized_sql = serializers.CharField(allow_null=True)
    limited_sql = serializers.CharField(allow_null=True)


class AiGuardrailInput(serializers.Serializer[dict[str, object]]):
    sql = serializers.CharField(max_length=MAX_SQL_CHARS, trim_whitespace=False)
    dialect = _dialect_field()
    max_rows = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)


class AiApprovalCreateInput(serializers.Serializer[dict[str, object]]):
    sql = serializers.CharField(max_length=MAX_SQL_CHARS, trim_whitespace=False)
    dialect = _dialect_field()
    connection_id = serializers.UUIDField(required=False, allow_null=True)


class AiApprovalCreateOutput(serializers.Serializer[Mapping[str, object]]):
    # Popped into the declared fields by DRF's metaclass; the stubs see `Field.required`.
    required = serializers.BooleanField(  # type: ignore[assignment]  # see the comment above
        help_text="False: the statement may run unasked."
    )
    token = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    sql = serializers.CharField(help_text="The exact statement the token approves.")
    sql_sha256 = serializers.CharField()
    guardrail = AiGuardrailVerdictOutput()


class AiApprovalApproveInput(serializers.Serializer[dict[str, object]]):
    sql = serializers.CharField(max_length=MAX_SQL_CHARS, trim_whitespace=False)
    connection_id = serializers.UUIDField(required=False, allow_null=True)


class AiApprovalApproveOutput(serializers.Serializer[Mapping[str, object]]):
    sql = serializers.CharField()
    sql_sha256 = serializers.CharField()
    connection_id = serializers.UUIDField(allow_null=True)
    guardrail = AiGuardrailVerdictOutput()


# --- one-shot tasks ------------------------------------------------------------------------------
class _TaskInput(serializers.Serializer[dict[str, object]]):
    dialect = _dialect_field(required=False, default="postgres")
    schema = SchemaField(required=False, allow_null=True)
    max_rows = serializers.IntegerField(
        required=False, min_value=1, max_value=1_000_000, help_text="Row cap for limited_sql."
    )


class AiGenerateSqlInput(_TaskInput):
    question = serializers.CharField(max_length=MAX_TEXT)
    sample_values = serializers.DictField(
        child=serializers.ListField(), required=False, help_text='{"table.column": [values]}'
    )


class AiFixSqlInput(_TaskInput):
    sql = serializers.CharField(max_length=MAX_SQL_CHARS, trim_whitespace=False)
    error = serializers.CharField(max_length=MAX_TEXT)


class AiSqlInput(_TaskInput):
    sql = serializers.CharField(max_length=MAX_SQL_CHARS, trim_whitespace=False)


class AiEnhancePromptInput(_TaskInput):
    prompt = serializers.CharField(max_length=MAX_TEXT)


class AiTokenUsageOutput(serializers.Serializer[Mapping[str, object]]):
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()


class AiSchemaSummaryOutput(serializers.Serializer[Mapping[str, object]]):
    tables_total = serializers.IntegerField()
    tables_included = serializers.IntegerField()
    tables = serializers.ListField(child=serializers.CharField())
    truncated = serializers.BooleanField()
    estimated_tokens = serializers.IntegerField()


class AiSqlAnswerOutput(serializers.Serializer[Mapping[str, object]]):
    sql = serializers.CharField()
    explanation = serializers.CharField(allow_blank=True)
    guardrail = AiGuardrailVerdictOutput()
    model = serializers.CharField()
    usage = AiTokenUsageOutput()
    schema = AiSchemaSummaryOutput(allow_null=True)


class AiEnhancedPromptOutput(serializers.Serializer[Mapping[str, object]]):
    prompt = serializers.CharField()
    model = serializers.CharField()
    usage = AiTokenUsageOutput()
    schema = AiSchemaSummaryOutput(allow_null=True)


# --- usage -------------------------------------------------------------------------------------
class _UsageCounts(serializers.Serializer[Mapping[str, object]]):
    requests = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()


class AiUsageByModelOutput(_UsageCounts):
    model = serializers.CharField(allow_blank=True)


class AiUsageByUserOutput(_UsageCounts):
    user_id = serializers.UUIDField(allow_null=True)
    email = serializers.CharField(allow_blank=True)


class AiUsageLimitsOutput(serializers.Serializer[Mapping[str, object]]):
    requests = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    tokens = serializers.IntegerField(allow_null=True, help_text="null: unlimited")


class AiUsageOutput(_UsageCounts):
    month = serializers.CharField(help_text="YYYY-MM (UTC)")
    plan = serializers.CharField()
    tokens = serializers.IntegerField()
    limits = AiUsageLimitsOutput()
    by_model = AiUsageByModelOutput(many=True)
    by_user = AiUsageByUserOutput(many=True, required=False, help_text="Owners and admins only.")
