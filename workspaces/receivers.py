"""How the workspaces app takes part in the account life cycle (accounts imports nothing here).

* every new user (guests included) gets a personal workspace;
* security events become audit events;
* an account cannot be deleted while it is the only owner of a workspace others still use;
  deleting it removes the workspaces only it belongs to (its personal one included);
* invitation emails go out through the accounts mailer.
"""

from __future__ import annotations

from typing import Any

from accounts import hooks
from accounts import signals as account_signals
from core.tenancy import db_context
from workspaces import signals
from workspaces.audit import audit_record
from workspaces.models import Invitation, Membership, Role, Workspace


def _on_user_registered(sender: Any, user: Any, **kwargs: Any) -> None:
    from workspaces.services import workspace_create_personal

    with db_context(workspace_id=None, user_id=user.pk):
        if Membership.objects.filter(user=user, workspace__is_personal=True).exists():
            return  # idempotent: a signal sent twice makes one personal workspace
    workspace_create_personal(user=user)


def _on_security_event(
    sender: Any, user: Any, action: str, request: Any = None, metadata: Any = None, **kwargs: Any
) -> None:
    data = {k: v for k, v in (metadata or {}).items() if k not in {"ip", "user_agent"}}
    with db_context(workspace_id=None, user_id=getattr(user, "pk", None)):
        audit_record(
            action=f"auth.{action}",
            workspace_id=None,
            actor=user,
            request=request,
            target_type="user",
            target_id=getattr(user, "pk", "") or "",
            metadata=data,
        )


def _my_memberships(user: Any) -> list[Membership]:
    with db_context(workspace_id=None, user_id=user.pk):
        return list(Membership.objects.filter(user=user).select_related("workspace"))


def _sole_owner_check(user: Any) -> hooks.DeletionBlocker | None:
    # Counting a workspace's members needs its own context: RLS shows a user only their own
    # membership rows when no workspace is bound.
    blocked = []
    for membership in _my_memberships(user):
        if membership.role != Role.OWNER or membership.workspace.is_personal:
            continue
        with db_context(workspace_id=membership.workspace_id, user_id=user.pk):
            members = Membership.objects.filter(workspace_id=membership.workspace_id)
            owners = members.filter(role=Role.OWNER).count()
            others = members.exclude(user=user).count()
        if owners == 1 and others > 0:
            blocked.append(membership.workspace.name)
    if not blocked:
        return None
    return hooks.DeletionBlocker(
        code="sole_owner_of_shared_workspace",
        message=(
            f"You are the only owner of {', '.join(sorted(blocked))}. Transfer ownership to "
            "another member first, or remove the other members."
        ),
        data={"workspaces": sorted(blocked)},
    )


def _on_user_deleting(sender: Any, user: Any, **kwargs: Any) -> None:
    """Remove the workspaces nobody else belongs to (after _sole_owner_check allowed it)."""
    for membership in _my_memberships(user):
        with db_context(workspace_id=membership.workspace_id, user_id=user.pk):
            alone = (
                not Membership.objects.filter(workspace_id=membership.workspace_id)
                .exclude(user=user)
                .exists()
            )
            if alone:
                from workspaces.services import destroy_workspace

                destroy_workspace(Workspace.objects.get(pk=membership.workspace_id))
            else:
                Membership.objects.filter(pk=membership.pk).delete()


def _export_workspaces(user: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": str(m.workspace_id),
            "name": m.workspace.name,
            "role": m.role,
            "personal": m.workspace.is_personal,
            "joined_at": m.created_at.isoformat(),
        }
        for m in _my_memberships(user)
    ]


def _send_invitation(sender: Any, invitation: Invitation, token: str, **kwargs: Any) -> None:
    from accounts.mailer import mail_send
    from workspaces.services import invitation_url

    inviter = invitation.invited_by
    mail_send(
        template_prefix="emails/workspace_invitation",
        to=invitation.email,
        context={
            "workspace_name": invitation.workspace.name,
            "inviter_name": (inviter.display_name or inviter.email) if inviter else "",
            "role": invitation.role,
            "accept_url": invitation_url(token),
            "token": token,
            "expires_at": invitation.expires_at,
        },
    )


def connect() -> None:
    account_signals.user_registered.connect(_on_user_registered, dispatch_uid="ws.personal")
    account_signals.security_event.connect(_on_security_event, dispatch_uid="ws.audit")
    account_signals.user_deleting.connect(_on_user_deleting, dispatch_uid="ws.user_deleting")
    signals.invitation_sent.connect(_send_invitation, dispatch_uid="ws.invitation_email")
    hooks.register_deletion_check(_sole_owner_check)
    hooks.register_export_section("workspaces", _export_workspaces)
