"""The audit log: who did what, where, from which address. Append-only for the app role."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from core import context
from core.http import client_ip, user_agent
from workspaces.models import AuditEvent


class Action:
    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    MFA_CHANGED = "auth.mfa_changed"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 - an action name, not a password
    EMAIL_CHANGED = "auth.email_changed"
    WORKSPACE_CREATED = "workspace.created"
    WORKSPACE_UPDATED = "workspace.updated"
    WORKSPACE_DELETED = "workspace.deleted"
    WORKSPACE_TRANSFERRED = "workspace.transferred"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_LEFT = "member.left"
    MEMBER_JOINED = "member.joined"
    INVITATION_CREATED = "invitation.created"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_DECLINED = "invitation.declined"
    SECRETS_REVEALED = "connection.secrets_revealed"
    AI_SQL_APPROVED = "ai.sql_approved"
    CONFLICT_RESOLVED = "sync.conflict_resolved"
    EXPORTED = "data.exported"
    IMPORTED = "data.imported"
    OPERATOR_ACCESS = "operator.access"
    PLAN_OVERRIDDEN = "billing.plan_overridden"


def audit_record(
    *,
    action: str,
    workspace_id: uuid.UUID | str | None,
    actor: Any = None,
    request: HttpRequest | None = None,
    target_type: str = "",
    target_id: object = "",
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Never put secrets in metadata: it is readable by admins."""
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    event = AuditEvent(
        workspace_id=workspace_id,
        actor_id=actor_id,
        actor_email=(getattr(actor, "email", None) or "") if actor is not None else "",
        action=action,
        target_type=target_type,
        target_id=str(target_id or "")[:64],
        ip=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        request_id=context.current().request_id if context.current().request_id != "-" else "",
        metadata=metadata or {},
        created_at=timezone.now(),
    )
    _insert_without_returning(event)
    return event


def _insert_without_returning(event: AuditEvent) -> None:
    """INSERT with no RETURNING clause. The row is written under the INSERT policy alone: a
    failed sign-in for an unknown address has no actor, so the SELECT policy (which a RETURNING
    clause would also apply) could never show it to the writer; operators read it in admin."""
    fields = [f for f in AuditEvent._meta.concrete_fields if f.attname != "id"]
    columns = ", ".join(connection.ops.quote_name(f.column or f.attname) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AuditEvent._meta.db_table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - columns from the model, values bound
            values,
        )
