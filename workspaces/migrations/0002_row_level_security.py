from django.db import migrations

from core.tenancy.operations import OPERATOR_EXPR, USER_EXPR, WORKSPACE_EXPR, TenantRLS

# A workspace row is visible inside its own context, and to its members (listing "my
# workspaces" runs with only the user bound). It can be written only inside its own context.
WORKSPACE_USING = (
    f"((id = {WORKSPACE_EXPR}) OR EXISTS (SELECT 1 FROM workspaces_membership m "
    f"WHERE m.workspace_id = workspaces_workspace.id AND m.user_id = {USER_EXPR}) OR {OPERATOR_EXPR})"
)
WORKSPACE_CHECK = f"((id = {WORKSPACE_EXPR}) OR {OPERATOR_EXPR})"

# A membership is visible inside its workspace's context and to the member it belongs to.
MEMBERSHIP_USING = (
    f"((workspace_id = {WORKSPACE_EXPR}) OR (user_id = {USER_EXPR}) OR {OPERATOR_EXPR})"
)
MEMBERSHIP_CHECK = f"((workspace_id = {WORKSPACE_EXPR}) OR {OPERATOR_EXPR})"

# Account-level audit events (no workspace) are visible to their actor only.
AUDIT_USING = (
    f"((workspace_id = {WORKSPACE_EXPR}) OR (workspace_id IS NULL AND actor_id = {USER_EXPR}) "
    f"OR {OPERATOR_EXPR})"
)
AUDIT_CHECK = f"((workspace_id IS NULL) OR (workspace_id = {WORKSPACE_EXPR}) OR {OPERATOR_EXPR})"


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0001_initial")]

    operations = [
        TenantRLS("workspaces_workspace", using=WORKSPACE_USING, check=WORKSPACE_CHECK),
        TenantRLS("workspaces_membership", using=MEMBERSHIP_USING, check=MEMBERSHIP_CHECK),
        TenantRLS("workspaces_invitation"),
        TenantRLS("workspaces_auditevent", using=AUDIT_USING, check=AUDIT_CHECK),
    ]
