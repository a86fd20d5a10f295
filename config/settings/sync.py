"""Sync (sync/, docs/sync.md): push/pull limits, the per-user rate limits, collection of
tombstones, idle devices and stored mutation results, and the events stream's heartbeat.
"""

from __future__ import annotations

from config.settings.tasks import CELERY_BEAT_SCHEDULE
from core.env import env_int, env_str

SYNC_MAX_MUTATIONS = env_int("SYNC_MAX_MUTATIONS", 1000, min_value=1)
# A push body above this answers 413 (MAX_REQUEST_BYTES still caps every request before it).
SYNC_MAX_PUSH_BYTES = env_int("SYNC_MAX_PUSH_BYTES", 10 * 1024 * 1024, min_value=1024)
# Per user, "<n>/<second|minute|hour>"; 429 with Retry-After above it.
SYNC_PUSH_RATE = env_str("SYNC_PUSH_RATE", "300/minute")
SYNC_PULL_RATE = env_str("SYNC_PULL_RATE", "1200/minute")
SYNC_PULL_DEFAULT_LIMIT = env_int("SYNC_PULL_DEFAULT_LIMIT", 500, min_value=1, max_value=1000)
# A push waits at most this long for the workspace's clock row, then retries; after
# SYNC_PUSH_ATTEMPTS transient failures (lock timeout, deadlock, serialization, lost
# connection) it answers 503 with Retry-After and nothing of it is counted.
SYNC_LOCK_TIMEOUT_MS = env_int("SYNC_LOCK_TIMEOUT_MS", 10_000, min_value=10)
SYNC_PUSH_ATTEMPTS = env_int("SYNC_PUSH_ATTEMPTS", 3, min_value=1, max_value=10)
SYNC_RETRY_AFTER_SECONDS = env_int("SYNC_RETRY_AFTER_SECONDS", 2, min_value=1)
SYNC_TOMBSTONE_DAYS = env_int("SYNC_TOMBSTONE_DAYS", 30, min_value=1)
SYNC_DEVICE_IDLE_DAYS = env_int("SYNC_DEVICE_IDLE_DAYS", 90, min_value=1)
SYNC_RESULT_RETENTION_DAYS = env_int("SYNC_RESULT_RETENTION_DAYS", 30, min_value=1)
SYNC_EVENTS_PING_SECONDS = env_int("SYNC_EVENTS_PING_SECONDS", 15, min_value=1, max_value=20)
# A stream ends after this long (the client reconnects), so membership is checked again.
SYNC_EVENTS_MAX_SECONDS = env_int("SYNC_EVENTS_MAX_SECONDS", 3600, min_value=10)
CELERY_BEAT_SCHEDULE["sync-collect"] = {
    "task": "sync.collect_all",
    "schedule": env_int("SYNC_COLLECT_EVERY_SECONDS", 3600, min_value=60),
}
