"""Input and output shapes of the connections API. Validation rules live in ConnectionEntity
(and connection_strings); these declare types for parsing and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from connections.models import Engine
from core.api.entities import StrictInput


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


def _secret(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        help_text=help_text + " Null removes it; leaving it out keeps it.",
    )


class _ConnectionFields(StrictInput):
    url = serializers.CharField(
        required=False,
        trim_whitespace=False,
        write_only=True,
        help_text=(
            "A connection string (postgres://, mysql://, mariadb://, sqlserver://, Server=...; "
            "clickhouse:// or http(s)://, sqlite:///path, mongodb:// or mongodb+srv://). It "
            "fills engine, host, port, database, username, password and the TLS options; "
            "fields given alongside it win."
        ),
    )
    name = _text()
    engine = serializers.ChoiceField(choices=Engine.choices, required=False)
    host = _text()
    port = serializers.IntegerField(required=False, allow_null=True)
    database = _text()
    username = _text()
    options = serializers.DictField(
        required=False,
        help_text=(
            "No secrets: tls {mode, ca_cert, client_cert, client_key_path, server_name}, "
            "ssh {enabled, host, port, user, auth_method}, params, hosts, srv, protocol, "
            "instance."
        ),
    )
    color = _text()
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    # The field shadows Field.read_only for the type checker only (the serializer metaclass
    # moves declared fields off the class).
    read_only = serializers.BooleanField(required=False)  # type: ignore[assignment]  # see the comment above
    password = _secret("Database password.")
    connection_string = _secret("A full connection string kept verbatim (a secret).")
    ssh_private_key = _secret("SSH tunnel private key (PEM/OpenSSH).")
    ssh_passphrase = _secret("Passphrase of the SSH private key.")
    tls_client_key = _secret("TLS client private key (PEM).")


class ConnectionCreateInput(_ConnectionFields):
    id = serializers.UUIDField(required=False, help_text="Client-chosen id (default: a new one).")


class ConnectionUpdateInput(_ConnectionFields):
    expected_version = serializers.IntegerField(required=False, min_value=0)


class ConnectionOutput(serializers.Serializer[Any]):
    """Metadata: what every member, viewers included, may see."""

    id = serializers.UUIDField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    engine = serializers.CharField()
    host = serializers.CharField()
    port = serializers.IntegerField(allow_null=True)
    database = serializers.CharField()
    username = serializers.CharField()
    options = serializers.DictField()
    color = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    read_only = serializers.BooleanField()  # type: ignore[assignment]  # see _ConnectionFields
    has_password = serializers.BooleanField()
    has_connection_string = serializers.BooleanField()
    has_ssh_private_key = serializers.BooleanField()
    has_ssh_passphrase = serializers.BooleanField()
    has_tls_client_key = serializers.BooleanField()
    created_by = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ConnectionSecretsOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    version = serializers.IntegerField()
    password = serializers.CharField(allow_null=True)
    connection_string = serializers.CharField(allow_null=True)
    ssh_private_key = serializers.CharField(allow_null=True)
    ssh_passphrase = serializers.CharField(allow_null=True)
    tls_client_key = serializers.CharField(allow_null=True)
    url = serializers.CharField(
        allow_null=True, help_text="The connection URL with the password (null: no URL form)."
    )
