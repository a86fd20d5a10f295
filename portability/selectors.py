"""Reads of workspace export: the export document of a member's view of a workspace, and the
account export's "all my data" section (registered in PortabilityConfig.ready()). The audited
API export, which also seals, is portability.services.workspace_export."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.entities import EntityAdapter
from core.tenancy import db_context
from portability.document_format import FORMAT, VERSION, entity_adapters, manager
from workspaces.models import Membership
from workspaces.secrets import Channel, Principal, require_secrets
from workspaces.selectors import memberships_of

# Server-side fields of a row that are not sync wire fields but belong in an export.
EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "chat_message": ("model", "input_tokens", "output_tokens", "finish_reason"),
}


def _export_rows(
    adapter: type[EntityAdapter],
    *,
    workspace_id: uuid.UUID,
    user: Any,
    include_secrets: bool,
    created_by_only: bool,
) -> list[dict[str, Any]]:
    rows = manager(adapter).filter(workspace_id=workspace_id, deleted=False)
    if adapter.private:
        rows = rows.filter(author_id=user.pk)
    elif created_by_only:
        rows = rows.filter(created_by_id=user.pk)
    out = []
    extras = EXTRA_FIELDS.get(adapter.entity, ())
    for row in rows.order_by("created_at", "row_id").iterator(chunk_size=500):
        data = adapter.serialize(row, include_secrets=include_secrets)
        data.pop("version", None)
        data.pop("deleted", None)
        for name in extras:
            data[name] = getattr(row, name)
        out.append(data)
    return out


def build_export(
    *,
    membership: Membership,
    include_secrets: bool = False,
    created_by_only: bool = False,
) -> dict[str, Any]:
    """The export document of the caller's view of the workspace (in the caller's transaction,
    bound to it). Secrets need member or higher."""
    if include_secrets:
        require_secrets(
            Principal.of(membership),
            Channel.EXPORT,
            workspace=membership.workspace,
            action="export connection secrets",
        )
    entities = {
        name: _export_rows(
            adapter,
            workspace_id=membership.workspace_id,
            user=membership.user,
            include_secrets=include_secrets,
            created_by_only=created_by_only,
        )
        for name, adapter in entity_adapters()
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat().replace("+00:00", "Z"),
        "scope": "account" if created_by_only else "workspace",
        "source": {
            "workspace_id": str(membership.workspace_id),
            "workspace_name": membership.workspace.name,
            "exported_by": str(membership.user_id),
            "role": membership.role,
            "release": settings.RELEASE,
        },
        "secrets_included": include_secrets,
        "entities": entities,
    }


def account_data_export(user: Any) -> list[dict[str, Any]]:
    """The "all my data" section of the account export (accounts.hooks): for every workspace
    the user belongs to, the connections and saved queries they created and their own history
    and chats. Never secrets."""
    with db_context(workspace_id=None, user_id=user.pk):
        memberships = list(memberships_of(user=user).select_related("user").order_by("created_at"))
    sections = []
    for membership in memberships:
        with db_context(workspace_id=membership.workspace_id, user_id=user.pk):
            sections.append(build_export(membership=membership, created_by_only=True))
    return sections
