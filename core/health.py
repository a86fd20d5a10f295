"""Liveness and readiness probes.

/healthz answers 200 as long as the process serves requests; it touches nothing, so a database
outage never makes the PaaS restart healthy web machines. /readyz checks PostgreSQL, Redis and a
live Celery worker, each with a short timeout, and names what is down (503).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connections
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def healthz() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_postgres() -> None:
    timeout_ms = int(settings.READYZ_TIMEOUT_SECONDS * 1000)
    connection = connections["default"]
    pool = getattr(connection, "pool", None)
    if pool is not None:
        # Not through connection.cursor(): that would wait DATABASE_POOL_TIMEOUT for the pool,
        # and a probe must answer within its own timeout.
        pool.open()  # idempotent; Django opens it lazily on the first query otherwise
        raw = pool.getconn(timeout=settings.READYZ_TIMEOUT_SECONDS)
        try:
            with raw.transaction():
                raw.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
                raw.execute("SELECT 1").fetchone()
        finally:
            pool.putconn(raw)
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [timeout_ms])
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # A probe must not leave a broken connection behind for the next request.
        connection.close_if_unusable_or_obsolete()


def check_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.READYZ_TIMEOUT_SECONDS,
        socket_timeout=settings.READYZ_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


def check_celery() -> None:
    # The project's app (config/celery.py, loaded with the `config` package before the settings):
    # Celery's Django fix-up makes it the default app, so it is current in every thread, request
    # threads included. core/ stands below config/ and does not import it.
    from celery import current_app

    # limit=1: answer as soon as one worker replies instead of waiting out the timeout.
    replies = current_app.control.ping(timeout=settings.READYZ_TIMEOUT_SECONDS, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered the ping")


CHECKS: dict[str, Callable[[], None]] = {
    "postgres": check_postgres,
    "redis": check_redis,
    "celery": check_celery,
}


def readyz() -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    down: list[str] = []
    for name, check in CHECKS.items():
        if name == "celery" and "redis" in down:
            # The worker is reached through Redis: with Redis down the ping cannot be sent.
            results[name] = {"status": "down", "reason": "unreachable: redis is down"}
            down.append(name)
            continue
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = {"status": "down", "reason": type(exc).__name__}
            down.append(name)
        else:
            results[name] = {
                "status": "up",
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }
    if down:
        return JsonResponse(
            {
                "status": "unavailable",
                "down": down,
                "checks": results,
                "error": {
                    "code": "not_ready",
                    "message": f"Not ready: {', '.join(down)} unavailable.",
                },
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": results})
