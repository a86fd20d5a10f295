"""Process-wide pools. PostgreSQL (DATABASE_POOL): tenant settings never travel with a pooled
connection, and a request that cannot get a connection in time is told to retry (503). Redis
(the cache): one pool per process, and clearing the cache touches no other key."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction

from core.tenancy import db_context
from core.tenancy.db import current_db_context
from tests.factories import UserFactory, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_the_test_database_runs_pooled() -> None:
    assert connection.settings_dict["OPTIONS"].get("pool"), "tests must run as production does"
    _backend_pid()
    assert connection.pool is not None  # type: ignore[attr-defined]
    assert connection.connection._pool is connection.pool  # type: ignore[attr-defined,union-attr]


def test_tenant_settings_do_not_travel_with_a_pooled_connection() -> None:
    pids = []
    for _ in range(6):
        with db_context(workspace_id=uuid.uuid4(), user_id=uuid.uuid4()):
            assert current_db_context()[0] != ""
            pids.append(_backend_pid())
        connection.close()  # back to the pool
        with transaction.atomic():
            assert current_db_context() == ("", "")
        connection.close()
    assert len(set(pids)) < len(pids), "the pool handed no connection out twice"


def test_a_connection_returned_inside_a_transaction_is_rolled_back() -> None:
    """A connection that goes back while a transaction (and its tenant binding) is open comes
    out of the pool clean: the pool rolls it back."""
    workspace_id = uuid.uuid4()
    raw = connection.pool.getconn()  # type: ignore[attr-defined]
    raw.execute("BEGIN")
    raw.execute("SELECT set_config('app.workspace_id', %s, true)", [str(workspace_id)])
    pid = raw.info.backend_pid
    connection.pool.putconn(raw)  # type: ignore[attr-defined]
    seen = []
    for _ in range(connection.pool.get_stats()["pool_size"] + 1):  # type: ignore[attr-defined]
        again = connection.pool.getconn()  # type: ignore[attr-defined]
        seen.append(again)
        if again.info.backend_pid == pid:
            value = again.execute("SELECT current_setting('app.workspace_id', true)").fetchone()
            assert value in {(None,), ("",)}
            break
    else:
        pytest.fail("the connection did not come back from the pool")
    for conn in seen:
        connection.pool.putconn(conn)  # type: ignore[attr-defined]


@pytest.fixture
def tiny_pool() -> Iterator[None]:
    """A pool of one connection that waits 0.2 s: easy to exhaust."""
    options = connection.settings_dict["OPTIONS"]
    saved = options["pool"]
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]
    options["pool"] = {"min_size": 0, "max_size": 1, "timeout": 0.2}
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()  # type: ignore[attr-defined]
        options["pool"] = saved


def test_an_exhausted_pool_answers_503_with_retry_after(api_client: Any, tiny_pool: None) -> None:
    owner = UserFactory()
    workspace = make_workspace(owner, "Busy")
    connection.close()
    api_client.force_authenticate(owner)

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            connections["default"].ensure_connection()  # the pool's only connection
            holding.set()
            release.wait(10)
        finally:
            connections["default"].close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        response = api_client.get(f"/api/v1/workspaces/{workspace.pk}/saved-queries/")
    finally:
        release.set()
        thread.join(10)
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["retry_after"] == 1

    connection.close()
    again = api_client.get(f"/api/v1/workspaces/{workspace.pk}/saved-queries/")
    assert again.status_code == 200, again.content


def test_cache_objects_of_one_process_share_one_redis_pool() -> None:
    """Django builds a cache object per thread (per request under ASGI); they share one pool
    instead of each opening its own Redis connection."""
    from django.core.cache import caches

    from core.cache import SharedConnectionPool

    seen: list[tuple[Any, Any]] = []

    def grab() -> None:
        cache = caches["default"]
        cache.set("pool-probe", 1, 5)
        seen.append((cache, cache._cache.get_client(write=True).connection_pool))  # type: ignore[attr-defined]

    thread = threading.Thread(target=grab)
    thread.start()
    thread.join()
    grab()
    (cache_a, pool_a), (cache_b, pool_b) = seen
    assert cache_a is not cache_b
    assert pool_a is pool_b
    assert isinstance(pool_a, SharedConnectionPool)


def test_clearing_the_cache_leaves_every_other_key_in_redis_alone(settings: Any) -> None:
    """Django's RedisCache.clear() is FLUSHDB: it would wipe the Celery queues, the AI streams
    and whatever else shares the Redis. Ours deletes its own prefix only."""
    import redis as redis_lib
    from django.core.cache import cache

    client = redis_lib.Redis.from_url(settings.REDIS_URL)
    outside = f"{settings.REDIS_KEY_PREFIX}not-the-cache:{uuid.uuid4()}"
    client.set(outside, "stays", ex=60)
    for n in range(1500):  # more than one UNLINK batch
        cache.set(f"k{n}", n, 60)
    cache.set("other-version", 1, 60, version=7)
    try:
        cache.clear()
        assert cache.get("k0") is None
        assert cache.get("k1499") is None
        assert cache.get("other-version", version=7) is None
        assert client.get(outside) == b"stays"
    finally:
        client.delete(outside)
        client.close()
