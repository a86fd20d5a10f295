from django.db import migrations

from core.tenancy.operations import TenantRLS


class Migration(migrations.Migration):
    dependencies = [("ai", "0001_initial"), ("core", "0002_rls_clock_functions")]

    # Usage is the workspace's (quotas count every member), so the policy is workspace-wide;
    # the usage endpoint decides who sees the per-member breakdown.
    operations = [TenantRLS("ai_aiusage")]
