"""The secret delivery ledger (sync_secretdelivery) under forced row-level security by
workspace. A new table only: code of the previous release never reads it, so it is safe
during a rolling deploy; reversible (the table and its policy go)."""

import django.utils.timezone
from django.db import migrations, models

from core.tenancy.operations import TenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0003_mutationresult_batches"),
    ]

    operations = [
        migrations.CreateModel(
            name="SecretDelivery",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("workspace_id", models.UUIDField()),
                ("entity", models.CharField(max_length=32)),
                ("row_id", models.UUIDField()),
                ("secret_version", models.BigIntegerField()),
                ("conflict_id", models.UUIDField(blank=True, null=True)),
                ("user_id", models.UUIDField()),
                ("client_id", models.CharField(max_length=64)),
                ("first_delivered_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "workspace_id",
                            "entity",
                            "row_id",
                            "user_id",
                            "client_id",
                            "secret_version",
                        ),
                        name="sync_delivery_unique",
                    )
                ],
            },
        ),
        TenantRLS("sync_secretdelivery"),
    ]
