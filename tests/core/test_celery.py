"""A task makes the full round trip: enqueue on commit -> Redis -> real worker -> result."""

from __future__ import annotations

import subprocess

import pytest
from django.db import transaction

from core.tasks import echo, enqueue_on_commit


@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_real_worker(celery_worker: subprocess.Popen[bytes]) -> None:
    result = echo.delay("hello")
    value = result.get(timeout=20)
    assert value["value"] == "hello"
    # The worker is another process: proof it did not run eagerly in this one.
    assert value["worker_pid"] == str(celery_worker.pid)


@pytest.mark.django_db(transaction=True)
def test_enqueue_waits_for_commit_and_drops_on_rollback(
    celery_worker: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[object, ...]] = []
    monkeypatch.setattr(echo, "apply_async", lambda **kw: sent.append(kw["args"]))

    with transaction.atomic():
        enqueue_on_commit(echo, "kept")
        assert sent == []  # not before commit
    assert sent == [("kept",)]

    class Rollback(Exception):
        pass

    def enqueue_then_fail() -> None:
        with transaction.atomic():
            enqueue_on_commit(echo, "dropped")
            raise Rollback

    with pytest.raises(Rollback):
        enqueue_then_fail()
    assert sent == [("kept",)]


@pytest.mark.django_db(transaction=True)
def test_enqueue_by_name_reaches_the_task_and_a_wrong_name_fails_at_once(
    celery_worker: subprocess.Popen[bytes],
) -> None:
    """Services enqueue by the task's registered name (they never import tasks modules): the
    name reaches the worker, and a misspelt one fails in the caller, not in the broker."""
    from celery.exceptions import NotRegistered

    from core.tasks import task_named

    with pytest.raises(NotRegistered):
        enqueue_on_commit("core.no_such_task", "x")
    assert task_named("core.echo").name == echo.name == "core.echo"
    assert task_named("accounts.send_email").name == "accounts.send_email"
    result = task_named("core.echo").apply_async(args=("by name",))
    assert result.get(timeout=20)["value"] == "by name"


def test_fire_and_forget_tasks_build_no_result_client() -> None:
    from core.tasks import FireAndForget, Unobserved, task_named

    reply = task_named("ai.generate_reply")
    assert isinstance(reply, FireAndForget)
    assert reply.ignore_result
    assert isinstance(reply.AsyncResult("abc"), Unobserved)
