"""Input and output shapes of the export and import API. The document's own rules live in
portability.document_format and portability.services; these declare types for parsing and the
OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.entities import StrictInput


class ExportInput(StrictInput):
    include_secrets = serializers.BooleanField(
        required=False, default=False, help_text="Include connection secrets (members and up)."
    )
    passphrase = serializers.CharField(
        required=False,
        allow_null=True,
        trim_whitespace=False,
        write_only=True,
        help_text="Seal the export with this passphrase (12 to 1024 characters).",
    )


class ImportInput(StrictInput):
    document = serializers.DictField(
        help_text="An export document, or an encrypted export envelope (send its passphrase)."
    )
    passphrase = serializers.CharField(
        required=False, allow_null=True, trim_whitespace=False, write_only=True
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Report what would happen; write nothing."
    )
    on_conflict = serializers.ChoiceField(
        choices=[("skip", "skip"), ("keep_both", "keep_both")],
        required=False,
        default="skip",
        help_text=(
            "A connection with the same name and engine, or a saved query with the same name "
            "and folder, already in the workspace: skip the imported one (references to it "
            "point at the existing row), or import it as well."
        ),
    )


class ImportReportOutput(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField(help_text="False when the report lists errors.")
    counts = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Per entity: in_document, created, skipped.",
    )
    conflicts = serializers.ListField(child=serializers.DictField())
    skipped = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.DictField())
    # Shadows Serializer.errors for the type checker only (declared fields leave the class).
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]  # see the comment above
    id_map = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="Per entity: exported id -> id in this workspace (empty for a dry run).",
    )
