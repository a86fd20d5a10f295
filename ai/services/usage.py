"""Usage and quotas: requests and tokens per workspace, member, month and model.

Before anything reaches a provider (or a generation is enqueued), `ai_request_admit` checks,
in this order: the member's rate (AI_RATE_LIMIT_PER_MINUTE, 429), the member's generations
running at once (AI_MAX_ACTIVE_GENERATIONS_PER_USER, 429, chat only), and the workspace's plan
quotas for the month (`ai_requests_per_month`, `ai_tokens_per_month`, 402 `plan_limit` from
workspaces.entitlements; a workspace found below 90% of both is not counted again for 30 s).
Usage is recorded when the provider has answered, with the model that answered. Generations in
flight are not counted yet, so a month can overshoot its quota by what was in flight (or used
within those 30 s) when it was reached.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import Coalesce

from ai import streams
from ai.models import AiUsage
from core.exceptions import ApplicationError
from workspaces.entitlements import ensure_within_limit, entitlements_for


def month_start(now: datetime | None = None) -> date:
    now = now or datetime.now(UTC)
    return date(now.year, now.month, 1)


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


def _rate_key(user_id: Any, minute: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}ai:rate:{user_id}:{minute}"


def _active_key(user_id: Any) -> str:
    return f"{settings.REDIS_KEY_PREFIX}ai:active:{user_id}"


# One round trip for the member's rate counter and, for chat, the generations they have running.
_ADMIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], 120) end
if ARGV[1] == '0' then return {count, {}} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
return {count, redis.call('ZRANGE', KEYS[2], 0, -1)}
"""


def check_rate(*, user_id: Any, generation: bool = False) -> None:
    """Count one AI request of the member in this minute (429 past AI_RATE_LIMIT_PER_MINUTE);
    for a chat reply, also 429 when they already have AI_MAX_ACTIVE_GENERATIONS_PER_USER
    running."""
    now = time.time()
    client = streams.redis_client()
    count, members = client.eval(
        _ADMIT,
        2,
        _rate_key(user_id, int(now // 60)),
        _active_key(user_id),
        "1" if generation else "0",
        f"{now:.3f}",
    )
    limit = int(settings.AI_RATE_LIMIT_PER_MINUTE)
    if int(count) > limit:
        wait = max(1, int(60 - now % 60) + 1)
        raise RateLimited(
            f"Too many AI requests: at most {limit} a minute. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
            extra={"retry_after": wait},
        )
    if generation:
        _check_active(client, user_id, [m.decode() if isinstance(m, bytes) else m for m in members])


def _check_active(client: Any, user_id: Any, members: list[str]) -> None:
    live = 0
    for generation_id in members:
        if streams.generation_is_live(generation_id):
            live += 1
        else:
            client.zrem(_active_key(user_id), generation_id)
    limit = int(settings.AI_MAX_ACTIVE_GENERATIONS_PER_USER)
    if live >= limit:
        raise RateLimited(
            f"You already have {live} AI answers being written. Wait for one to finish or stop it.",
            headers={"Retry-After": "5"},
            extra={"retry_after": 5},
        )


def track_generation(*, user_id: Any, generation_id: str) -> None:
    ttl = settings.CELERY_TASK_TIME_LIMIT + settings.AI_STREAM_START_TIMEOUT_SECONDS
    streams.redis_client().zadd(_active_key(user_id), {generation_id: time.time() + ttl})


def untrack_generation(*, user_id: Any, generation_id: str) -> None:
    streams.redis_client().zrem(_active_key(user_id), generation_id)


@dataclass(frozen=True)
class MonthTotals:
    requests: int
    input_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def workspace_month_totals(*, workspace_id: Any, month: date | None = None) -> MonthTotals:
    totals = AiUsage.objects.filter(
        workspace_id=workspace_id, month=month or month_start()
    ).aggregate(
        requests=Coalesce(Sum("requests"), 0),
        input_tokens=Coalesce(Sum("input_tokens"), 0),
        output_tokens=Coalesce(Sum("output_tokens"), 0),
    )
    return MonthTotals(
        int(totals["requests"]), int(totals["input_tokens"]), int(totals["output_tokens"])
    )


# A workspace found well within its quotas is not counted again for this long: it saves a
# query on every message, and while it lasts the workspace can use at most the headroom left.
QUOTA_CHECK_TTL_SECONDS = 30
QUOTA_HEADROOM = 0.9


def _quota_key(workspace_id: Any) -> str:
    return f"{settings.REDIS_KEY_PREFIX}ai:quota-ok:{workspace_id}:{month_start():%Y-%m}"


def check_quota(*, workspace: Any) -> None:
    """402 `plan_limit` when the workspace has used its month's AI requests or tokens."""
    client = streams.redis_client()
    key = _quota_key(workspace.pk)
    if client.get(key):
        return
    totals = workspace_month_totals(workspace_id=workspace.pk)
    ensure_within_limit(workspace, "ai_requests_per_month", current=totals.requests)
    ensure_within_limit(workspace, "ai_tokens_per_month", current=totals.tokens)
    entitlements = entitlements_for(workspace)
    requests = entitlements.limit("ai_requests_per_month")
    tokens = entitlements.limit("ai_tokens_per_month")
    if (requests is None or totals.requests < requests * QUOTA_HEADROOM) and (
        tokens is None or totals.tokens < tokens * QUOTA_HEADROOM
    ):
        client.set(key, "1", ex=QUOTA_CHECK_TTL_SECONDS)


def ai_request_admit(*, workspace: Any, user: Any, generation: bool = False) -> None:
    """May this member make one more AI request now? Raises 429 or 402 if not."""
    check_rate(user_id=user.pk, generation=generation)
    check_quota(workspace=workspace)


def usage_record(
    *,
    workspace_id: Any,
    user_id: Any,
    model: str,
    requests: int = 1,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> None:
    """Add to the month's counters, in the caller's transaction (bound to the workspace)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ai_aiusage AS u (id, workspace_id, user_id, month, model, requests,
                                         input_tokens, output_tokens, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (workspace_id, user_id, month, model) DO UPDATE
               SET requests = u.requests + EXCLUDED.requests,
                   input_tokens = u.input_tokens + EXCLUDED.input_tokens,
                   output_tokens = u.output_tokens + EXCLUDED.output_tokens,
                   updated_at = now()
            """,
            [
                uuid.uuid4(),
                str(workspace_id),
                str(user_id) if user_id else None,
                month_start(),
                (model or "")[:100],
                max(0, int(requests)),
                max(0, int(input_tokens)),
                max(0, int(output_tokens)),
            ],
        )


def usage_summary(*, workspace: Any, month: date, by_user: bool) -> dict[str, Any]:
    """The month's totals against the plan, by model and (for admins) by member."""
    rows = AiUsage.objects.filter(workspace_id=workspace.pk, month=month)
    totals = workspace_month_totals(workspace_id=workspace.pk, month=month)
    entitlements = entitlements_for(workspace)
    models = (
        rows.values("model")
        .annotate(
            requests=Sum("requests"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
        )
        .order_by("model")
    )
    summary: dict[str, Any] = {
        "month": month.strftime("%Y-%m"),
        "plan": entitlements.plan,
        "requests": totals.requests,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "tokens": totals.tokens,
        "limits": {
            "requests": entitlements.limit("ai_requests_per_month"),
            "tokens": entitlements.limit("ai_tokens_per_month"),
        },
        "by_model": [
            {
                "model": row["model"],
                "requests": int(row["requests"] or 0),
                "input_tokens": int(row["input_tokens"] or 0),
                "output_tokens": int(row["output_tokens"] or 0),
            }
            for row in models
        ],
    }
    if by_user:
        users = (
            rows.values("user_id", "user__email")
            .annotate(
                requests=Sum("requests"),
                input_tokens=Sum("input_tokens"),
                output_tokens=Sum("output_tokens"),
            )
            .order_by("user__email")
        )
        summary["by_user"] = [
            {
                "user_id": str(row["user_id"]) if row["user_id"] else None,
                "email": row["user__email"] or "",
                "requests": int(row["requests"] or 0),
                "input_tokens": int(row["input_tokens"] or 0),
                "output_tokens": int(row["output_tokens"] or 0),
            }
            for row in users
        ]
    return summary
