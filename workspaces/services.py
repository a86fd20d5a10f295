"""Writes on workspaces, members and invitations. Each public function is one action.

Every function runs in a transaction bound to the workspace (row-level security) and writes an
audit event for what it changed. Permission checks live here too, so the rules hold whatever
calls them; `docs/permissions.md` is the matrix and `tests/workspaces/test_permissions.py`
checks every cell.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from core.crypto.store import create_workspace_key, shred_workspace_keys
from core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from core.tenancy import db_context
from workspaces import signals
from workspaces.audit import Action, audit_record
from workspaces.models import (
    ROLE_RANK,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Workspace,
    role_at_least,
)

INVITATION_TTL = timedelta(days=7)
UPDATABLE_FIELDS = {
    "name",
    "sync_conflict_policy",
    "sync_secrets",
    "ai_approve_all_sql",
    "history_retention_days",
}


def _slug(name: str) -> str:
    base = slugify(name)[:60] or "workspace"
    return f"{base}-{secrets.token_hex(3)}"


def require_role(membership: Membership, minimum: str, *, action: str) -> None:
    if not role_at_least(membership.role, minimum):
        raise PermissionDenied(f"Your role ({membership.role}) cannot {action}.")


def workspace_create(
    *, user: Any, name: str, is_personal: bool = False, request: HttpRequest | None = None
) -> Workspace:
    """Create a workspace with `user` as its owner."""
    workspace_id = uuid.uuid4()
    with db_context(workspace_id=workspace_id, user_id=user.pk):
        workspace = Workspace.objects.create(
            id=workspace_id,
            name=name,
            slug=_slug(name),
            created_by=user,
            is_personal=is_personal,
        )
        Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
        create_workspace_key(workspace.id)
        audit_record(
            action=Action.WORKSPACE_CREATED,
            workspace_id=workspace.id,
            actor=user,
            request=request,
            target_type="workspace",
            target_id=workspace.id,
            metadata={"personal": is_personal},
        )
    return workspace


def workspace_create_personal(*, user: Any) -> Workspace:
    name = (
        "Personal" if user.is_guest or not user.display_name else f"{user.display_name}'s workspace"
    )
    return workspace_create(user=user, name=name, is_personal=True)


def workspace_update(
    *, membership: Membership, changes: dict[str, Any], request: HttpRequest | None = None
) -> Workspace:
    require_role(membership, Role.ADMIN, action="change workspace settings")
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ApplicationError(f"Cannot change: {', '.join(sorted(unknown))}.", code="invalid")
    workspace = Workspace.objects.select_for_update().get(pk=membership.workspace_id)
    before = {field: getattr(workspace, field) for field in changes}
    for field, value in changes.items():
        setattr(workspace, field, value)
    workspace.save(update_fields=[*changes, "updated_at"])
    audit_record(
        action=Action.WORKSPACE_UPDATED,
        workspace_id=workspace.id,
        actor=membership.user,
        request=request,
        target_type="workspace",
        target_id=workspace.id,
        metadata={
            "changed": {k: [before[k], changes[k]] for k in changes if before[k] != changes[k]}
        },
    )
    return workspace


def workspace_delete(*, membership: Membership, request: HttpRequest | None = None) -> None:
    """Delete a workspace and everything in it, its encryption keys included (crypto-shredding).

    Other apps remove what they keep outside foreign-key cascades through the
    `workspace_deleting` signal, inside this transaction.
    """
    require_role(membership, Role.OWNER, action="delete the workspace")
    workspace = Workspace.objects.select_for_update().get(pk=membership.workspace_id)
    if workspace.is_personal:
        raise ApplicationError(
            "A personal workspace is deleted with its account.", code="personal_workspace"
        )
    audit_record(
        action=Action.WORKSPACE_DELETED,
        workspace_id=workspace.id,
        actor=membership.user,
        request=request,
        target_type="workspace",
        target_id=workspace.id,
        metadata={"name": workspace.name},
    )
    destroy_workspace(workspace)


def destroy_workspace(workspace: Workspace) -> None:
    """Remove the workspace, everything in it, and its data keys (in the bound transaction)."""
    from core.models import WorkspaceClock

    signals.workspace_deleting.send(sender=Workspace, workspace=workspace)
    shred_workspace_keys(workspace.id)
    WorkspaceClock.objects.filter(workspace_id=workspace.id).delete()
    workspace.delete()


def _owner_count(workspace_id: uuid.UUID) -> int:
    return Membership.objects.filter(workspace_id=workspace_id, role=Role.OWNER).count()


def _member(workspace_id: uuid.UUID, user_id: uuid.UUID | str) -> Membership:
    try:
        return (
            Membership.objects.select_for_update()
            .select_related("user")
            .get(workspace_id=workspace_id, user_id=user_id)
        )
    except (Membership.DoesNotExist, ValueError, ApplicationError):
        raise NotFound("No such member in this workspace.") from None


def workspace_transfer(
    *, membership: Membership, new_owner_id: uuid.UUID, request: HttpRequest | None = None
) -> Membership:
    """Make another member the owner; the previous owner stays on as admin."""
    require_role(membership, Role.OWNER, action="transfer the workspace")
    if str(new_owner_id) == str(membership.user_id):
        raise ApplicationError("You already own this workspace.", code="invalid")
    target = _member(membership.workspace_id, new_owner_id)
    if target.user.is_guest:
        raise ApplicationError("A guest account cannot own a shared workspace.", code="invalid")
    target.role = Role.OWNER
    target.save(update_fields=["role", "updated_at"])
    Membership.objects.filter(pk=membership.pk).update(role=Role.ADMIN, updated_at=timezone.now())
    Workspace.objects.filter(pk=membership.workspace_id).update(is_personal=False)
    audit_record(
        action=Action.WORKSPACE_TRANSFERRED,
        workspace_id=membership.workspace_id,
        actor=membership.user,
        request=request,
        target_type="user",
        target_id=target.user_id,
    )
    return target


def member_change_role(
    *,
    membership: Membership,
    user_id: uuid.UUID,
    role: str,
    request: HttpRequest | None = None,
) -> Membership:
    require_role(membership, Role.ADMIN, action="change roles")
    if role not in Role.values:
        raise ApplicationError("Unknown role.", code="invalid", fields={"role": ["Unknown role."]})
    target = _member(membership.workspace_id, user_id)
    acting_owner = membership.role == Role.OWNER
    if (target.role == Role.OWNER or role == Role.OWNER) and not acting_owner:
        raise PermissionDenied("Only an owner can grant or take away ownership.")
    if target.role == Role.OWNER and role != Role.OWNER and _owner_count(target.workspace_id) == 1:
        raise Conflict("A workspace needs an owner. Transfer ownership first.", code="last_owner")
    if target.role == role:
        return target
    before = target.role
    target.role = role
    target.save(update_fields=["role", "updated_at"])
    audit_record(
        action=Action.MEMBER_ROLE_CHANGED,
        workspace_id=target.workspace_id,
        actor=membership.user,
        request=request,
        target_type="user",
        target_id=target.user_id,
        metadata={"from": before, "to": role},
    )
    return target


def member_remove(
    *, membership: Membership, user_id: uuid.UUID, request: HttpRequest | None = None
) -> None:
    if str(user_id) == str(membership.user_id):
        member_leave(membership=membership, request=request)
        return
    require_role(membership, Role.ADMIN, action="remove members")
    target = _member(membership.workspace_id, user_id)
    if target.role == Role.OWNER and membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can remove an owner.")
    target.delete()
    signals.member_removed.send(
        sender=Membership, workspace_id=target.workspace_id, user_id=user_id
    )
    audit_record(
        action=Action.MEMBER_REMOVED,
        workspace_id=target.workspace_id,
        actor=membership.user,
        request=request,
        target_type="user",
        target_id=user_id,
        metadata={"role": target.role},
    )


def member_leave(*, membership: Membership, request: HttpRequest | None = None) -> None:
    locked = _member(membership.workspace_id, membership.user_id)
    if locked.role == Role.OWNER and _owner_count(locked.workspace_id) == 1:
        raise Conflict(
            "You are the last owner. Transfer ownership or delete the workspace first.",
            code="last_owner",
        )
    locked.delete()
    signals.member_removed.send(
        sender=Membership, workspace_id=locked.workspace_id, user_id=locked.user_id
    )
    audit_record(
        action=Action.MEMBER_LEFT,
        workspace_id=locked.workspace_id,
        actor=membership.user,
        request=request,
        target_type="user",
        target_id=locked.user_id,
    )


# ---------------------------------------------------------------------------------------------
# Invitations. A token is "<workspace uuid hex>.<secret>": the workspace part lets acceptance
# bind the transaction to the right workspace before it looks anything up, so no code path has
# to read invitations across workspaces. Only a SHA-256 of the whole token is stored.
# ---------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(workspace_id: uuid.UUID) -> str:
    return f"{workspace_id.hex}.{secrets.token_urlsafe(32)}"


def _workspace_of_token(token: str) -> uuid.UUID:
    try:
        return uuid.UUID(hex=token.split(".", 1)[0])
    except (ValueError, AttributeError):
        raise NotFound("This invitation does not exist or is no longer valid.") from None


def invitation_create(
    *, membership: Membership, email: str, role: str, request: HttpRequest | None = None
) -> tuple[Invitation, str]:
    """Invite an address. Returns the invitation and the one-time token (sent by email)."""
    require_role(membership, Role.ADMIN, action="invite people")
    if role == Role.OWNER and membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can invite an owner.")
    email = email.strip()
    if Membership.objects.filter(
        workspace_id=membership.workspace_id, user__email__iexact=email
    ).exists():
        raise Conflict("This person is already a member.", code="already_member")
    from workspaces import entitlements

    entitlements.check_can_add_member(membership.workspace)
    token = _new_token(membership.workspace_id)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                workspace_id=membership.workspace_id,
                email=email,
                role=role,
                token_hash=_token_hash(token),
                invited_by=membership.user,
                expires_at=timezone.now() + INVITATION_TTL,
            )
    except IntegrityError:
        raise Conflict(
            "This address already has a pending invitation. Resend it instead.",
            code="invitation_pending",
        ) from None
    audit_record(
        action=Action.INVITATION_CREATED,
        workspace_id=membership.workspace_id,
        actor=membership.user,
        request=request,
        target_type="invitation",
        target_id=invitation.id,
        metadata={"email": email, "role": role},
    )
    signals.invitation_sent.send(sender=Invitation, invitation=invitation, token=token)
    return invitation, token


def _pending(workspace_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    try:
        return Invitation.objects.select_for_update().get(
            workspace_id=workspace_id, pk=invitation_id, status=InvitationStatus.PENDING
        )
    except Invitation.DoesNotExist:
        raise NotFound("No pending invitation with this id.") from None


def invitation_revoke(
    *, membership: Membership, invitation_id: uuid.UUID, request: HttpRequest | None = None
) -> Invitation:
    require_role(membership, Role.ADMIN, action="revoke invitations")
    invitation = _pending(membership.workspace_id, invitation_id)
    invitation.status = InvitationStatus.REVOKED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    audit_record(
        action=Action.INVITATION_REVOKED,
        workspace_id=membership.workspace_id,
        actor=membership.user,
        request=request,
        target_type="invitation",
        target_id=invitation.id,
    )
    return invitation


MAX_RESENDS = 5


def invitation_resend(
    *, membership: Membership, invitation_id: uuid.UUID, request: HttpRequest | None = None
) -> tuple[Invitation, str]:
    """Send a fresh token (the old one stops working) and restart the expiry."""
    require_role(membership, Role.ADMIN, action="resend invitations")
    invitation = _pending(membership.workspace_id, invitation_id)
    if invitation.sent_count >= MAX_RESENDS:
        raise ApplicationError(
            "This invitation was sent too many times. Revoke it and invite again later.",
            code="rate_limited",
            status=429,
        )
    token = _new_token(membership.workspace_id)
    invitation.token_hash = _token_hash(token)
    invitation.expires_at = timezone.now() + INVITATION_TTL
    invitation.sent_count += 1
    invitation.save(update_fields=["token_hash", "expires_at", "sent_count", "updated_at"])
    audit_record(
        action=Action.INVITATION_RESENT,
        workspace_id=membership.workspace_id,
        actor=membership.user,
        request=request,
        target_type="invitation",
        target_id=invitation.id,
    )
    signals.invitation_sent.send(sender=Invitation, invitation=invitation, token=token)
    return invitation, token


def _invitation_for(token: str) -> Invitation:
    try:
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("workspace")
            .get(token_hash=_token_hash(token))
        )
    except Invitation.DoesNotExist:
        raise NotFound("This invitation does not exist or is no longer valid.") from None
    if invitation.status != InvitationStatus.PENDING:
        raise Conflict(
            f"This invitation was already {invitation.status}.", code="invitation_closed"
        )
    if invitation.is_expired:
        raise ApplicationError(
            "This invitation has expired. Ask for a new one.", code="invitation_expired", status=410
        )
    return invitation


def _has_verified_email(user: Any, email: str) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def invitation_preview(*, token: str) -> Invitation:
    """What an invitation is for (workspace name, role), for the page that shows it."""
    with db_context(workspace_id=_workspace_of_token(token), user_id=None):
        return _invitation_for(token)


def invitation_accept(*, token: str, user: Any, request: HttpRequest | None = None) -> Membership:
    """Join the workspace. The invited address must be one of the user's verified emails."""
    workspace_id = _workspace_of_token(token)
    with db_context(workspace_id=workspace_id, user_id=user.pk):
        invitation = _invitation_for(token)
        if not _has_verified_email(user, invitation.email):
            raise PermissionDenied(
                "This invitation was sent to another address. Sign in with that address, or "
                "add and verify it on your account.",
                code="email_mismatch",
            )
        if Membership.objects.filter(workspace_id=workspace_id, user=user).exists():
            raise Conflict("You are already a member of this workspace.", code="already_member")
        from workspaces import entitlements

        entitlements.check_can_add_member(invitation.workspace, pending_excluded=invitation.pk)
        membership = Membership.objects.create(
            workspace_id=workspace_id, user=user, role=invitation.role
        )
        invitation.status = InvitationStatus.ACCEPTED
        invitation.responded_by = user
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_by", "responded_at", "updated_at"])
        audit_record(
            action=Action.INVITATION_ACCEPTED,
            workspace_id=workspace_id,
            actor=user,
            request=request,
            target_type="invitation",
            target_id=invitation.id,
            metadata={"role": invitation.role},
        )
        return membership


def invitation_decline(*, token: str, user: Any, request: HttpRequest | None = None) -> Invitation:
    workspace_id = _workspace_of_token(token)
    with db_context(workspace_id=workspace_id, user_id=user.pk):
        invitation = _invitation_for(token)
        if not _has_verified_email(user, invitation.email):
            raise PermissionDenied(
                "This invitation was sent to another address.", code="email_mismatch"
            )
        invitation.status = InvitationStatus.DECLINED
        invitation.responded_by = user
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_by", "responded_at", "updated_at"])
        audit_record(
            action=Action.INVITATION_DECLINED,
            workspace_id=workspace_id,
            actor=user,
            request=request,
            target_type="invitation",
            target_id=invitation.id,
        )
        return invitation


def invitation_url(token: str) -> str:
    return f"{settings.PUBLIC_URL.rstrip('/')}/invitations/{token}"


def roles_assignable_by(role: str) -> list[str]:
    return [r for r in Role.values if ROLE_RANK[Role(r)] <= ROLE_RANK[Role(role)]]
