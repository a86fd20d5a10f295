from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from core.crypto.fields import EncryptedField
from core.versioning import SyncedModel, synced_constraints, synced_indexes


class Engine(models.TextChoices):
    POSTGRES = "postgres", "PostgreSQL"
    MYSQL = "mysql", "MySQL"
    MARIADB = "mariadb", "MariaDB"
    MSSQL = "mssql", "SQL Server"
    CLICKHOUSE = "clickhouse", "ClickHouse"
    SQLITE = "sqlite", "SQLite"
    MONGODB = "mongodb", "MongoDB"
    COCKROACHDB = "cockroachdb", "CockroachDB"
    REDSHIFT = "redshift", "Amazon Redshift"
    ORACLE = "oracle", "Oracle"
    DUCKDB = "duckdb", "DuckDB"
    SNOWFLAKE = "snowflake", "Snowflake"
    BIGQUERY = "bigquery", "BigQuery"
    REDIS = "redis", "Redis"


SECRET_FIELDS = (
    "password",
    "connection_string",
    "ssh_private_key",
    "ssh_passphrase",
    "tls_client_key",
)


class Connection(SyncedModel):
    """How to reach one database. Secrets are encrypted with the workspace's data key."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    engine = models.CharField(max_length=32)
    host = models.CharField(max_length=255, blank=True, default="")
    port = models.PositiveIntegerField(null=True, blank=True)
    database = models.CharField(max_length=255, blank=True, default="")
    username = models.CharField(max_length=255, blank=True, default="")
    # TLS mode and certificates, SSH tunnel host/port/user/auth method (no secrets).
    options = models.JSONField(default=dict, blank=True)
    color = models.CharField(max_length=32, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    read_only = models.BooleanField(default=False)
    password_encrypted = EncryptedField()
    connection_string_encrypted = EncryptedField()
    ssh_private_key_encrypted = EncryptedField()
    ssh_passphrase_encrypted = EncryptedField()
    tls_client_key_encrypted = EncryptedField()

    sync_entity: ClassVar[str] = "connection"
    sync_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "engine",
        "host",
        "port",
        "database",
        "username",
        "options",
        "color",
        "tags",
        "read_only",
        *SECRET_FIELDS,
    )

    class Meta:
        indexes = synced_indexes("conn")
        constraints = synced_constraints("conn")

    def __str__(self) -> str:
        return f"{self.name} ({self.engine})"
