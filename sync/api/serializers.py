"""Input parsing and output shapes of the sync endpoints (no logic beyond shape checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.entities import _rfc3339
from core.exceptions import ApplicationError
from sync.models import Conflict, SyncClient
from sync.records import serialize_conflict
from sync.selectors import SecretHolders


def _bad(message: str, field: str | None = None) -> ApplicationError:
    return ApplicationError(
        message, code="invalid_request", status=400, fields={field: [message]} if field else None
    )


@dataclass
class PushBody:
    client_id: str
    device: dict[str, Any]
    mutations: list[dict[str, Any]]


def parse_push(data: Any) -> PushBody:
    """The request-level rules: anything wrong here answers 400 and nothing is counted."""
    if not isinstance(data, dict):
        raise _bad("The body must be a JSON object.")
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise _bad("client_id is required: a string of 8 to 64 characters.", "client_id")
    device = data.get("device") or {}
    if not isinstance(device, dict):
        raise _bad("device must be an object.", "device")
    mutations = data.get("mutations")
    if not isinstance(mutations, list):
        raise _bad("mutations must be a list.", "mutations")
    if len(mutations) > settings.SYNC_MAX_MUTATIONS:
        raise ApplicationError(
            f"A push may carry at most {settings.SYNC_MAX_MUTATIONS} mutations.",
            code="too_many_mutations",
            status=413,
            extra={"limit_mutations": settings.SYNC_MAX_MUTATIONS},
        )
    for index, mutation in enumerate(mutations):
        if not isinstance(mutation, dict):
            raise _bad(f"mutations[{index}] must be an object.", "mutations")
        mutation_id = mutation.get("mutation_id")
        if isinstance(mutation_id, bool) or not isinstance(mutation_id, int) or mutation_id < 1:
            raise _bad(
                f"mutations[{index}].mutation_id must be an integer of at least 1.", "mutation_id"
            )
    return PushBody(client_id, device, mutations)


def parse_limit(value: Any) -> int:
    if value in (None, ""):
        return int(settings.SYNC_PULL_DEFAULT_LIMIT)
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise _bad("limit must be an integer from 1 to 1000.", "limit") from None
    if not 1 <= limit <= 1000:
        raise _bad("limit must be an integer from 1 to 1000.", "limit")
    return limit


@dataclass
class ResolveBody:
    resolution: str
    fields: dict[str, Any] | None
    expected_version: int | None


def parse_resolve(data: Any, resolutions: tuple[str, ...]) -> ResolveBody:
    if not isinstance(data, dict):
        raise _bad("The body must be a JSON object.")
    resolution = data.get("resolution")
    if resolution not in resolutions:
        raise _bad(f"resolution must be one of {', '.join(resolutions)}.", "resolution")
    fields = data.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise _bad("fields must be an object.", "fields")
    expected = data.get("expected_version")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
        raise _bad("expected_version must be an integer.", "expected_version")
    return ResolveBody(str(resolution), fields, expected)


def conflict_out(conflict: Conflict, *, include_secrets: bool) -> dict[str, Any]:
    return serialize_conflict(conflict, include_secrets=include_secrets)


def device_out(client: SyncClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "device": {
            "name": client.device_name,
            "platform": client.platform,
            "app_version": client.app_version,
        },
        "last_push_at": _rfc3339(client.last_push_at),
        "last_pull_at": _rfc3339(client.last_pull_at),
        "last_mutation_id": client.last_mutation_id,
        "created_at": _rfc3339(client.created_at),
    }


def _user_out(user_id: Any, holders: SecretHolders) -> dict[str, Any]:
    user = holders.users.get(user_id)
    return {
        "id": str(user_id) if user_id else None,
        "email": (user.email or None) if user is not None else None,
        "role": holders.roles.get(user_id),
    }


def holders_out(holders: SecretHolders) -> dict[str, Any]:
    current = holders.current_secret_version
    devices = []
    for holder in holders.devices:
        client = holder.client
        devices.append(
            {
                "user": _user_out(holder.user_id, holders),
                "client_id": holder.client_id,
                "registered": client is not None,
                "device": (
                    {
                        "name": client.device_name,
                        "platform": client.platform,
                        "app_version": client.app_version,
                    }
                    if client is not None
                    else None
                ),
                "last_pull_at": _rfc3339(client.last_pull_at) if client is not None else None,
                "holds_current": current is not None
                and any(
                    d.secret_version == current and d.conflict_id is None for d in holder.deliveries
                ),
                "deliveries": [
                    {
                        "secret_version": d.secret_version,
                        "conflict_id": str(d.conflict_id) if d.conflict_id else None,
                        "first_delivered_at": _rfc3339(d.first_delivered_at),
                    }
                    for d in holder.deliveries
                ],
            }
        )
    return {
        "entity": holders.entity,
        "id": str(holders.row_id),
        "current_secret_version": current,
        "devices": devices,
        "rest_deliveries": [
            {
                "action": event.action,
                "user": _user_out(event.actor_id, holders),
                "at": _rfc3339(event.created_at),
                "audit_event_id": event.id,
            }
            for event in holders.rest
        ],
    }
