from django.db import migrations

from core.tenancy.operations import SyncGuard, TenantRLS


class Migration(migrations.Migration):
    dependencies = [("queries", "0001_initial"), ("core", "0002_rls_clock_functions")]

    operations = [
        TenantRLS("queries_savedquery"),
        SyncGuard("queries_savedquery"),
        TenantRLS("queries_queryhistory", private_column="author_id"),
        SyncGuard("queries_queryhistory"),
    ]
