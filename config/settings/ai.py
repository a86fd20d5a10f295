"""AI providers and the AI assistant (ai/, docs/ai-providers.md, docs/ai.md)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.settings import security
from core.env import env_float, env_int, env_list, env_str, env_url

# ---------------------------------------------------------------------------------------------
# AI providers (ai/providers). Nothing here is required: a provider without its key (for
# "compatible": without its base URL) is skipped, and with none configured AI requests fail with
# the `not_configured` error. Variables and fallback rules: docs/ai-providers.md.
# ---------------------------------------------------------------------------------------------
_AI_PROVIDER_NAMES = ("anthropic", "openai", "openai_chat", "compatible")


def _ai_models(name: str, default: str) -> dict[str, str]:
    """`provider:model` pairs, comma-separated: "anthropic:claude-haiku-4-5,openai:gpt-5-mini"."""
    models: dict[str, str] = {}
    for item in env_list(name, default.split(",")):
        provider, colon, model = (part.strip() for part in item.partition(":"))
        if not colon or provider not in _AI_PROVIDER_NAMES or not model:
            raise ImproperlyConfigured(
                f"Environment variable {name} must be comma-separated provider:model pairs with "
                f"provider one of {', '.join(_AI_PROVIDER_NAMES)}; got {item!r}."
            )
        models[provider] = model
    return models


ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY", None)
ANTHROPIC_BASE_URL = env_url("ANTHROPIC_BASE_URL", None, schemes=("http", "https"))
OPENAI_API_KEY = env_str("OPENAI_API_KEY", None)
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", None, schemes=("http", "https"))
AI_COMPATIBLE_BASE_URL = env_url("AI_COMPATIBLE_BASE_URL", None, schemes=("http", "https"))
AI_COMPATIBLE_API_KEY = env_str("AI_COMPATIBLE_API_KEY", None)
AI_PROVIDER_ORDER = env_list("AI_PROVIDER_ORDER", ["anthropic", "openai", "compatible"])
if _unknown_ai_providers := set(AI_PROVIDER_ORDER) - set(_AI_PROVIDER_NAMES):
    raise ImproperlyConfigured(
        f"Environment variable AI_PROVIDER_ORDER names unknown providers "
        f"{', '.join(sorted(_unknown_ai_providers))}; known: {', '.join(_AI_PROVIDER_NAMES)}."
    )
# One model per provider and task; a provider with no model for a task is skipped for it.
AI_MODEL_CHAT = _ai_models("AI_MODEL_CHAT", "anthropic:claude-sonnet-4-6,openai:gpt-5-mini")
AI_MODEL_SQL = _ai_models("AI_MODEL_SQL", "anthropic:claude-haiku-4-5,openai:gpt-5-mini")
# Longest silence allowed while waiting for a provider (between two streamed chunks, or for a
# whole one-shot answer).
AI_REQUEST_TIMEOUT_SECONDS = env_float("AI_REQUEST_TIMEOUT_SECONDS", 60.0)
if AI_REQUEST_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("Environment variable AI_REQUEST_TIMEOUT_SECONDS must be > 0.")
# Retries of a failing provider before the next one in AI_PROVIDER_ORDER is tried.
AI_MAX_RETRIES = env_int("AI_MAX_RETRIES", 2, min_value=0, max_value=10)

# =============================================================================================
# AI assistant (ai/, docs/ai.md): chat generations run as Celery tasks that append UI message
# stream chunks to one Redis Stream per generation; the web relays them as Server-Sent Events.
# Provider keys and models are in the "AI providers" block above.
# =============================================================================================
# Celery queue of the generation and titling tasks. The default queue works with one worker
# pool; a dedicated queue (and `celery worker -Q ai`) keeps long streams away from email.
AI_CELERY_QUEUE = env_str("AI_CELERY_QUEUE", "celery")
# A finished generation stays replayable (resume, Last-Event-ID) for this long.
AI_STREAM_RETENTION_SECONDS = env_int("AI_STREAM_RETENTION_SECONDS", 600, min_value=10)
# Hard cap on chunks per generation: the generation is ended with an error beyond it. The Redis
# Stream also carries MAXLEN ~ a little above it, as a backstop that never trims in practice.
AI_STREAM_MAX_CHUNKS = env_int("AI_STREAM_MAX_CHUNKS", 20_000, min_value=100)
# `: ping` comment lines on an idle stream, so proxies keep it open.
AI_STREAM_HEARTBEAT_SECONDS = env_float("AI_STREAM_HEARTBEAT_SECONDS", 15.0)
# A generation no worker has picked up within this long is failed (the user sees an error).
AI_STREAM_START_TIMEOUT_SECONDS = env_float("AI_STREAM_START_TIMEOUT_SECONDS", 60.0)
# A running generation whose worker has not been heard of for this long is failed.
AI_STREAM_STALL_SECONDS = env_float("AI_STREAM_STALL_SECONDS", 180.0)
if min(AI_STREAM_HEARTBEAT_SECONDS, AI_STREAM_START_TIMEOUT_SECONDS, AI_STREAM_STALL_SECONDS) <= 0:
    raise ImproperlyConfigured("AI_STREAM_*_SECONDS settings must be > 0.")
# Approval tokens for SQL the user must confirm: lifetime in seconds.
AI_APPROVAL_TTL_SECONDS = env_int("AI_APPROVAL_TTL_SECONDS", 300, min_value=10, max_value=3600)
# Per user, across chat and one-shot endpoints: requests per minute, and generations at once.
AI_RATE_LIMIT_PER_MINUTE = env_int("AI_RATE_LIMIT_PER_MINUTE", 30, min_value=1)
AI_MAX_ACTIVE_GENERATIONS_PER_USER = env_int("AI_MAX_ACTIVE_GENERATIONS_PER_USER", 3, min_value=1)
# Prompt budget (estimated tokens) for the part of a client's schema sent to the model.
AI_SCHEMA_TOKEN_BUDGET = env_int("AI_SCHEMA_TOKEN_BUDGET", 6_000, min_value=200)
# Row cap the guardrail puts on run_readonly_query SQL.
AI_TOOL_MAX_ROWS = env_int("AI_TOOL_MAX_ROWS", 200, min_value=1, max_value=100_000)
AI_CHAT_MAX_OUTPUT_TOKENS = env_int("AI_CHAT_MAX_OUTPUT_TOKENS", 4096, min_value=64)
# Redis connections per process for streams: each open SSE stream holds one in the web process
# while it waits (Redis's maxclients must cover web processes x open streams).
AI_REDIS_MAX_CONNECTIONS = env_int("AI_REDIS_MAX_CONNECTIONS", 5_000, min_value=10)
# Generations saving their answer at the same moment, per worker process (each holds a
# database connection meanwhile).
AI_WORKER_DB_CONCURRENCY = env_int("AI_WORKER_DB_CONCURRENCY", 8, min_value=1)
# Clients may name their `ai` npm version when their runtime cannot set User-Agent (browsers).
# A new tuple that replaces security.py's in config.settings, which is why this module is the
# last one config/settings/__init__.py imports.
CORS_ALLOW_HEADERS = (*security.CORS_ALLOW_HEADERS, "x-ai-sdk-version")
