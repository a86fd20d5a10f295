"""Row-level security holds even when application code forgets its filter.

These tests run as the application's database role (no superuser, no BYPASSRLS, owns no
table); the first test proves that, or every other test here would prove nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from psycopg_pool import ConnectionPool

from core.tenancy import current_db_context, db_context, set_db_context
from tests.conftest import app_database_url
from workspaces.models import AuditEvent, Invitation, Membership, Workspace

pytestmark = pytest.mark.django_db


def tenant_models() -> list[type[Model]]:
    """Every concrete model that holds tenant data: it has a workspace key (or is Workspace)."""
    found: list[type[Model]] = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = {f.attname for f in model._meta.concrete_fields}
        if "workspace_id" in names or model is Workspace:
            found.append(model)
    return found


def test_tests_run_as_the_restricted_app_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, is_super, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tableowner=current_user"
        )
        (owned,) = cursor.fetchone()
    assert user == settings.DATABASE_APP_ROLE
    assert (is_super, bypass, owned) == (False, False, 0)


def test_every_tenant_table_has_forced_row_level_security() -> None:
    models = tenant_models()
    assert {Workspace, Membership, Invitation, AuditEvent} <= set(models)
    missing = []
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(
                "SELECT c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) "
                "FROM pg_class c WHERE c.relname = %s",
                [model._meta.db_table],
            )
            enabled, forced, policies = cursor.fetchone()
            if not (enabled and forced and policies):
                missing.append(model._meta.db_table)
    assert missing == [], f"tables without a forced RLS policy: {missing}"


def test_with_no_workspace_bound_every_tenant_table_reads_nothing(team: Any) -> None:
    # The rows exist (the owner can see its workspace)...
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert Membership.objects.count() == 4
        assert AuditEvent.objects.filter(workspace_id=team.workspace.pk).exists()
    # ...but a transaction bound to nothing sees none of them, in any tenant table.
    with transaction.atomic():
        set_db_context(workspace_id=None, user_id=None)
        for model in tenant_models():
            assert model._default_manager.count() == 0, model._meta.db_table
    # Outside any transaction (autocommit, settings never set) likewise.
    for model in tenant_models():
        assert model._default_manager.count() == 0, model._meta.db_table


def test_workspace_a_cannot_read_or_write_workspace_b(team: Any) -> None:
    a, b = team.workspace, team.other_workspace
    with db_context(workspace_id=a.pk, user_id=team.owner.pk):
        # Read: a forgotten filter returns only A's rows.
        assert set(Membership.objects.values_list("workspace_id", flat=True)) == {a.pk}
        assert not Workspace.objects.filter(pk=b.pk).exists()
        # Update and delete: B's rows are invisible, so nothing changes.
        assert Workspace.objects.filter(pk=b.pk).update(name="pwned") == 0
        assert Membership.objects.filter(workspace_id=b.pk).delete()[0] == 0
    # Insert: a row claiming B's workspace is refused by the policy's WITH CHECK.
    with (
        pytest.raises(Exception, match="row-level security"),
        db_context(workspace_id=a.pk, user_id=team.owner.pk),
    ):
        Invitation.objects.create(
            workspace_id=b.pk,
            email="x@example.com",
            role="member",
            token_hash=uuid.uuid4().hex,
            expires_at="2099-01-01T00:00:00Z",
        )
    with db_context(workspace_id=b.pk, user_id=team.outsider.pk):
        assert Workspace.objects.get(pk=b.pk).name == "Charlie's"
        assert Membership.objects.filter(workspace_id=b.pk).count() == 1


def test_a_member_lists_own_workspaces_only(team: Any) -> None:
    with db_context(workspace_id=None, user_id=team.member.pk):
        assert set(Workspace.objects.values_list("pk", flat=True)) == {team.workspace.pk}
        # Its own memberships, not the other members' of the same workspace.
        assert list(Membership.objects.values_list("user_id", flat=True)) == [team.member.pk]


def test_unique_collision_does_not_reveal_another_workspace(team: Any) -> None:
    """The same pending invitation address in two workspaces does not collide: unique keys on
    tenant tables include the workspace, so an insert cannot probe another tenant's rows."""
    from workspaces import services
    from workspaces.models import Role

    with db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk):
        other_owner = Membership.objects.select_related("workspace", "user").get(
            workspace_id=team.other_workspace.pk
        )
        services.invitation_create(membership=other_owner, email="dana@example.com", role="member")
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        owner = Membership.objects.select_related("workspace", "user").get(
            workspace_id=team.workspace.pk, user=team.owner
        )
        invitation, _ = services.invitation_create(
            membership=owner, email="DANA@example.com", role=Role.MEMBER
        )
        assert invitation.workspace_id == team.workspace.pk


def test_settings_do_not_outlive_the_transaction(team: Any) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert current_db_context() == (str(team.workspace.pk), str(team.owner.pk))
    # Same Django connection, next transaction: nothing bound.
    with transaction.atomic():
        assert current_db_context() == ("", "")
        assert Membership.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_pooled_connection_reused_for_another_request_keeps_no_workspace(team: Any) -> None:
    """A pool of one connection: request 1 binds workspace A and commits; request 2 gets the
    very same server connection and sees no workspace and no rows."""
    with ConnectionPool(app_database_url(), min_size=1, max_size=1, open=True) as pool:
        with pool.connection() as conn:
            first_pid = conn.info.backend_pid
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('app.workspace_id', %s, true)", [str(team.workspace.pk)]
                )
                (count,) = conn.execute("SELECT count(*) FROM workspaces_membership").fetchone()
                assert count == 4
        with pool.connection() as conn:
            assert conn.info.backend_pid == first_pid
            with conn.transaction():
                (setting,) = conn.execute(
                    "SELECT current_setting('app.workspace_id', true)"
                ).fetchone()
                (count,) = conn.execute("SELECT count(*) FROM workspaces_membership").fetchone()
    assert setting == ""
    assert count == 0


@pytest.mark.django_db(transaction=True)
def test_audit_log_is_append_only_for_the_app_role(team: Any) -> None:
    with psycopg.connect(app_database_url()) as conn:
        with conn.transaction():
            conn.execute(
                "SELECT set_config('app.workspace_id', %s, true)", [str(team.workspace.pk)]
            )
            (count,) = conn.execute("SELECT count(*) FROM workspaces_auditevent").fetchone()
            assert count > 0
        for statement in (
            "UPDATE workspaces_auditevent SET action = 'forged'",
            "DELETE FROM workspaces_auditevent",
            "TRUNCATE workspaces_auditevent",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_set_db_context_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside transaction"):
        set_db_context(workspace_id=uuid.uuid4(), user_id=None)
