"""Plans and their limits (None: unlimited), and the query history retention they cap.

`per_seat` limits are multiplied by the seats a team subscription pays for. PLAN_LIMITS (JSON)
replaces any plan's entry. See docs/billing.md.
"""

from __future__ import annotations

from datetime import timedelta

from config.settings.tasks import CELERY_BEAT_SCHEDULE
from core.env import env_json

_DEFAULT_PLAN_LIMITS: dict[str, dict[str, object]] = {
    "free": {
        "members": 2,
        "connections": 5,
        "saved_queries": 200,
        "sync_devices": 2,
        "ai_requests_per_month": 100,
        "ai_tokens_per_month": 300_000,
        "history_retention_days": 30,
    },
    "pro": {
        "members": 3,
        "connections": 100,
        "saved_queries": None,
        "sync_devices": 10,
        "ai_requests_per_month": 2_000,
        "ai_tokens_per_month": 5_000_000,
        "history_retention_days": 365,
    },
    "team": {
        "members": 1,
        "connections": 1_000,
        "saved_queries": None,
        "sync_devices": 10,
        "ai_requests_per_month": 1_000,
        "ai_tokens_per_month": 2_500_000,
        "history_retention_days": 730,
        "per_seat": ["members", "sync_devices", "ai_requests_per_month", "ai_tokens_per_month"],
    },
}
PLAN_LIMITS = {**_DEFAULT_PLAN_LIMITS, **env_json("PLAN_LIMITS", {})}

# Query history retention (queries/tasks.py, docs/data.md): once a day, history older than each
# workspace's history_retention_days (capped by its plan's) is purged in batches.
CELERY_BEAT_SCHEDULE["queries.enforce_history_retention"] = {
    "task": "queries.enforce_history_retention",
    "schedule": timedelta(hours=24),
}
