"""Approval tokens: the user's confirmation of one exact SQL statement, before it runs.

A token is 256 random bits, shown to the client once. Redis keeps only its SHA-256, with what
it is bound to: the SHA-256 of the exact SQL, the connection, the member and the workspace; it
expires after AI_APPROVAL_TTL_SECONDS. Approving consumes it atomically, so it works once.

A token is only ever found by its own member in its own workspace: to anyone else it is
exactly an unknown token (the same 410, and it is left alone, so an attempt neither tells them
it exists nor burns it for its member). Its member's use that does not match the statement or
connection consumes it (and is refused with 403): a client that got the statement wrong asks
again. Approving writes an audit event and hands back the exact statement to run.

Tokens travel in request bodies (`POST ai/approvals/approve`), never in URLs, which end up in
access logs and proxies; `token_fingerprint` is what a log line may say about one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ai import streams
from ai.guardrails import Verdict, classify
from core.exceptions import ApplicationError
from workspaces.audit import Action, audit_record


def sql_sha256(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


def _key(token: str) -> str:
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return f"{settings.REDIS_KEY_PREFIX}ai:approval:{digest}"


def token_fingerprint(token: str) -> str:
    """What logs may say about a token: the start of its SHA-256 (not the Redis key's whole
    digest), enough to tell two requests' tokens apart."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


# Consume the token only for its own member in its own workspace; to anyone else it does not
# exist (and stays for its member).
_CONSUME = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local ok, record = pcall(cjson.decode, raw)
if not ok or record['workspace_id'] ~= ARGV[1] or record['user_id'] ~= ARGV[2] then
  return false
end
redis.call('DEL', KEYS[1])
return raw
"""


def needs_approval(verdict: Verdict, *, approve_all: bool) -> bool:
    return approve_all or not verdict.allowed_readonly


@dataclass(frozen=True)
class ApprovalToken:
    token: str
    expires_at: datetime
    sql_sha256: str

    @property
    def expires_at_iso(self) -> str:
        return self.expires_at.isoformat().replace("+00:00", "Z")


def approval_create(
    *,
    workspace_id: Any,
    user_id: Any,
    connection_id: Any,
    sql: str,
    dialect: str,
    kind: str,
    source: str = "api",
) -> ApprovalToken:
    """A token for running exactly `sql` on `connection_id`, by this member, in this workspace."""
    token = secrets.token_urlsafe(32)
    digest = sql_sha256(sql)
    ttl = int(settings.AI_APPROVAL_TTL_SECONDS)
    now = time.time()
    record = {
        "workspace_id": str(workspace_id),
        "user_id": str(user_id),
        "connection_id": str(connection_id) if connection_id else "",
        "sql": sql,
        "sql_sha256": digest,
        "dialect": dialect,
        "kind": kind,
        "source": source,
        "created": now,
    }
    streams.redis_client().set(_key(token), json.dumps(record), ex=ttl)
    return ApprovalToken(token, datetime.fromtimestamp(now + ttl, tz=UTC), digest)


class ApprovalRefused(ApplicationError):
    status_code = 403
    code = "approval_refused"


def approval_approve(
    *,
    workspace_id: Any,
    user: Any,
    token: str,
    sql: str,
    connection_id: Any,
    request: HttpRequest | None = None,
) -> dict[str, Any]:
    """Consume the token and return the statement it approves, with a fresh guardrail verdict.
    Unknown, expired or used tokens, and tokens of another member or workspace, are the same
    410; the member's own token for another statement or connection is a 403."""
    raw = (
        streams.redis_client().eval(_CONSUME, 1, _key(token), str(workspace_id), str(user.pk))
        if token
        else None
    )
    if not raw:
        raise ApplicationError(
            "This approval has expired or was already used. Ask for a new one.",
            code="approval_expired",
            status=410,
        )
    record = json.loads(raw)
    if record["connection_id"] != (str(connection_id) if connection_id else ""):
        raise ApprovalRefused("This approval is for another connection. Ask for a new one.")
    if not secrets.compare_digest(record["sql_sha256"], sql_sha256(sql)):
        raise ApprovalRefused("This approval is for a different statement. Ask for a new one.")
    verdict = classify(record["sql"], record["dialect"])
    audit_record(
        action=Action.AI_SQL_APPROVED,
        workspace_id=workspace_id,
        actor=user,
        request=request,
        target_type="connection",
        target_id=record["connection_id"],
        # The statement itself may quote data; the log keeps its hash and kind only.
        metadata={
            "sql_sha256": record["sql_sha256"],
            "kind": verdict.kind,
            "dialect": record["dialect"],
            "source": record.get("source", "api"),
        },
    )
    return {
        "sql": record["sql"],
        "sql_sha256": record["sql_sha256"],
        "connection_id": record["connection_id"] or None,
        "guardrail": verdict.to_dict(),
    }
