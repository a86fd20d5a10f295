from django.db import migrations

from core.tenancy.operations import OPERATOR_EXPR, USER_EXPR, WORKSPACE_EXPR, SyncGuard, TenantRLS

# A conflict on a row private to one member is that member's alone.
CONFLICT_USING = (
    f"((workspace_id = {WORKSPACE_EXPR} AND (private_to IS NULL OR private_to = {USER_EXPR}))"
    f" OR {OPERATOR_EXPR})"
)


class Migration(migrations.Migration):
    dependencies = [("sync", "0001_initial"), ("core", "0002_rls_clock_functions")]

    operations = [
        TenantRLS("sync_syncclient"),
        TenantRLS("sync_mutationresult", private_column="user_id"),
        TenantRLS("sync_conflict", using=CONFLICT_USING),
        SyncGuard("sync_conflict"),
    ]
