"""The one rule for secrets: who may receive a secret field, on which channel.

A secret field (an entity adapter's `secret_fields`: a connection's password, connection
string, SSH key and passphrase, TLS client key) can leave the service by several doors. Every
one of them asks this module, and `docs/permissions.md` ("Secrets by role") is this table in
words (tests/workspaces/test_secrets.py holds the two together):

- viewers never receive a secret, on any channel;
- members and up receive secrets through an audited REST call (`reveal`, an export with
  secrets) or on their devices through sync pull, the latter only while the workspace's
  `sync_secrets` is on; every first delivery of a secret version to a device is recorded
  (`sync_secretdelivery`, docs/security.md "Who holds this secret");
- nothing that is not tied to a member and recorded carries a secret: REST reads, the
  conflict list and resolve answers (no device to record), sync pokes, the assistant's
  context, admin pages, emails, logs, Sentry events.

It lives with the roles it reads (workspaces is the floor that knows roles and memberships;
core must not import it). Core's own doors (logs, Sentry) take the secret field names from the
entity registry instead (`core.entities.secret_field_names`); their rule here is "never" for
everyone, so they need no principal.

Per-item grants (a member allowed one connection's secrets) would be a field of `Principal`,
loaded once per request, and one more condition in `may_receive_secrets`; the callers already
pass the principal and the channel.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Any

from core.exceptions import PermissionDenied
from workspaces.models import Membership, Role, role_at_least


class Channel(enum.StrEnum):
    """A door a secret could leave by."""

    REST_READ = "rest_read"  # connections list/read/create/update answers: metadata only
    REVEAL = "reveal"  # POST connections/{id}/reveal (audited)
    EXPORT = "export"  # workspace export with include_secrets (audited)
    SYNC_PULL = "sync_pull"  # rows and conflict records pulled to a device (delivery ledger)
    CONFLICT_LIST = "conflict_list"  # GET sync/conflicts and the resolve answer: no device
    SYNC_EVENTS = "sync_events"  # pokes on GET sync/events: a version number only
    AI_CONTEXT = "ai_context"  # anything the assistant puts in a prompt or tool result
    ADMIN = "admin"  # Django admin pages (operators)
    EMAIL = "email"
    LOGS = "logs"
    SENTRY = "sentry"


class Record(enum.StrEnum):
    """How a delivery on a channel is written down."""

    NONE = ""
    AUDIT = "audit event"  # connection.secrets_revealed, data.exported
    LEDGER = "delivery ledger"  # sync_secretdelivery, once per device and secret version


@dataclass(frozen=True)
class Rule:
    """Who may receive secrets on one channel: `minimum_role` and up (None: nobody), and only
    while the workspace's `sync_secrets` is on when `needs_sync_secrets`."""

    minimum_role: str | None
    needs_sync_secrets: bool = False
    record: Record = Record.NONE


RULES: dict[Channel, Rule] = {
    Channel.REST_READ: Rule(None),
    Channel.REVEAL: Rule(Role.MEMBER, record=Record.AUDIT),
    Channel.EXPORT: Rule(Role.MEMBER, record=Record.AUDIT),
    Channel.SYNC_PULL: Rule(Role.MEMBER, needs_sync_secrets=True, record=Record.LEDGER),
    Channel.CONFLICT_LIST: Rule(None),
    Channel.SYNC_EVENTS: Rule(None),
    Channel.AI_CONTEXT: Rule(None),
    Channel.ADMIN: Rule(None),
    Channel.EMAIL: Rule(None),
    Channel.LOGS: Rule(None),
    Channel.SENTRY: Rule(None),
}


@dataclass(frozen=True)
class Principal:
    """Who would receive the secret: a member's role in the workspace, or nobody in
    particular (None: an operator, a process, an anonymous caller)."""

    role: str | None
    user_id: uuid.UUID | None = None

    @classmethod
    def of(cls, membership: Membership) -> Principal:
        return cls(role=membership.role, user_id=membership.user_id)

    @classmethod
    def member(cls, *, role: str, user: Any) -> Principal:
        return cls(role=role, user_id=getattr(user, "pk", None))


def may_receive_secrets(
    principal: Principal | None, channel: Channel, *, workspace: Any = None
) -> bool:
    """Whether `principal` may be sent secret field values on `channel`. `workspace` is needed
    for channels that follow its `sync_secrets` setting (without it they answer no)."""
    rule = RULES[channel]
    if rule.minimum_role is None or principal is None or principal.role is None:
        return False
    if not role_at_least(principal.role, rule.minimum_role):
        return False
    return not rule.needs_sync_secrets or bool(getattr(workspace, "sync_secrets", False))


def require_secrets(
    principal: Principal | None, channel: Channel, *, workspace: Any = None, action: str
) -> None:
    """may_receive_secrets() or 403 `permission_denied` naming the caller's role."""
    if may_receive_secrets(principal, channel, workspace=workspace):
        return
    role = principal.role if principal is not None else None
    if role is not None and role == Role.VIEWER:
        raise PermissionDenied(f"Viewers cannot {action}.")
    raise PermissionDenied(f"Your role ({role or 'none'}) cannot {action}.")


def may_send_secrets_from_device(principal: Principal | None, *, workspace: Any) -> bool:
    """Whether secret fields a device sends (sync push, a merged resolution) are kept. Members
    and up, while the workspace syncs secrets; otherwise they are stripped (`stripped_fields`).
    A viewer's writes are refused before this is asked."""
    if principal is None or principal.role is None:
        return False
    return role_at_least(principal.role, Role.MEMBER) and bool(workspace.sync_secrets)


# --- the table in docs/permissions.md ----------------------------------------------------------

# Rows of the "Secrets by role" table: (what, channel, workspace's sync_secrets for the row).
TABLE_ROWS: tuple[tuple[str, Channel, bool | None], ...] = (
    ("REST read: connections list, read, create and update answers", Channel.REST_READ, None),
    ("REST reveal (`POST connections/{id}/reveal`, audited)", Channel.REVEAL, None),
    ("export with `include_secrets` (audited)", Channel.EXPORT, None),
    ("sync pull: rows and conflict records, `sync_secrets` on (ledger)", Channel.SYNC_PULL, True),
    ("sync pull: rows and conflict records, `sync_secrets` off", Channel.SYNC_PULL, False),
    ("sync `GET conflicts`, the resolve answer", Channel.CONFLICT_LIST, None),
    ("sync events (pokes)", Channel.SYNC_EVENTS, None),
    ("the assistant's prompts and context", Channel.AI_CONTEXT, None),
    ("admin pages", Channel.ADMIN, None),
    ("emails", Channel.EMAIL, None),
    ("logs", Channel.LOGS, None),
    ("Sentry events", Channel.SENTRY, None),
)
TABLE_COLUMNS = ("owner", "admin", "member", "viewer", "outsider")


@dataclass(frozen=True)
class _Workspace:
    sync_secrets: bool


def table_markdown() -> str:
    """The "Secrets by role" table of docs/permissions.md, drawn from RULES."""
    lines = [
        "| channel | " + " | ".join(TABLE_COLUMNS) + " |",
        "|---" * (len(TABLE_COLUMNS) + 1) + "|",
    ]
    for what, channel, sync_secrets in TABLE_ROWS:
        workspace = _Workspace(sync_secrets=bool(sync_secrets))
        cells = []
        for column in TABLE_COLUMNS:
            principal = Principal(role=None if column == "outsider" else column)
            allowed = may_receive_secrets(principal, channel, workspace=workspace)
            cells.append("yes" if allowed else "no")
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
