"""/healthz is liveness only; /readyz names each dependency that is down."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from core import health


def _body(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.content))


def test_healthz_touches_nothing(client: Client, settings: Any) -> None:
    # No django_db mark: any database access would raise. Redis is pointed at a dead port.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert _body(response) == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_readyz_all_up(client: Client, celery_worker: subprocess.Popen[bytes]) -> None:
    # Probes come from the PaaS by private address over plain HTTP: no host check, no redirect.
    response = client.get("/readyz", HTTP_HOST="fdaa:0:1::3", secure=False)
    assert response.status_code == 200, response.content
    checks = _body(response)["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "postgres": "up",
        "redis": "up",
        "celery": "up",
    }


@pytest.fixture
def postgres_down() -> Iterator[None]:
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")  # nothing listens on port 1
    yield
    connection.close()
    connection.close_pool()  # type: ignore[attr-defined]
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_readyz_names_postgres_when_down(
    client: Client, celery_worker: subprocess.Popen[bytes], postgres_down: None
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = _body(response)
    assert body["down"] == ["postgres"]
    assert body["error"]["code"] == "not_ready"
    assert "postgres" in body["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_readyz_names_redis_when_down(
    client: Client, celery_worker: subprocess.Popen[bytes], settings: Any
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = _body(response)
    assert "redis" in body["down"]
    assert body["checks"]["postgres"]["status"] == "up"


@pytest.mark.django_db(transaction=True)
def test_readyz_names_celery_when_no_worker_answers(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No celery_worker fixture here, but another test may have started the session's worker;
    # ask only workers of a name no worker has.
    from config.celery import app

    original = app.control.ping
    monkeypatch.setattr(
        app.control,
        "ping",
        lambda timeout, **kw: original(destination=["nobody@nowhere"], timeout=timeout, **kw),
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    body = _body(response)
    assert body["down"] == ["celery"]
    assert body["checks"]["redis"]["status"] == "up"


def test_readyz_check_list_is_complete() -> None:
    assert set(health.CHECKS) == {"postgres", "redis", "celery"}


def test_celery_check_pings_the_project_app_from_any_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # core/ does not import config/: the probe asks Celery for its current app, which must be
    # config.celery's (configured from the settings), also in a thread that never set it, as the
    # threads ASGI runs sync views in.
    from config.celery import app

    pinged: list[dict[str, object]] = []

    def ping(**kwargs: object) -> list[dict[str, str]]:
        pinged.append(kwargs)
        return [{"worker@host": "pong"}]

    monkeypatch.setattr(app.control, "ping", ping)
    thread = threading.Thread(target=health.check_celery)
    thread.start()
    thread.join()
    assert len(pinged) == 1


def test_probes_skip_host_check_and_https_redirect(client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="172.19.0.4:8000")
    assert response.status_code == 200
    # Anything else from that host is refused, and plain HTTP is redirected for a good host.
    assert client.get("/api/v1/", HTTP_HOST="172.19.0.4:8000").status_code == 400
    assert client.get("/api/v1/", HTTP_HOST="api.example.com").status_code == 301
