from django.db import migrations

from core.tenancy.operations import SyncGuard, TenantRLS


class Migration(migrations.Migration):
    dependencies = [("connections", "0001_initial"), ("core", "0002_rls_clock_functions")]

    operations = [
        TenantRLS("connections_connection"),
        SyncGuard("connections_connection"),
    ]
