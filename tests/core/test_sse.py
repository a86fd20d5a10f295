"""An SSE response is not buffered anywhere between the view and the client.

The real server stack (gunicorn + uvicorn worker + every middleware) runs in a subprocess. The
view sends a first event and then waits, until the client has read that first event, before it
produces the last one: a buffering layer would hold the first event back and the client would
time out waiting for it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from django.conf import settings

from tests.conftest import ROOT, free_port, stop, subprocess_env, wait_for_port


@pytest.fixture(scope="module")
def sse_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.asgi:application",
            "-c",
            "config/gunicorn.py",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=subprocess_env(
            DJANGO_SETTINGS_MODULE="tests.sse_app.settings", HOST="127.0.0.1", PORT=str(port)
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


def test_first_event_arrives_before_the_last_is_produced(sse_server: str) -> None:
    gate = f"{settings.REDIS_KEY_PREFIX}sse-gate-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    events: list[str] = []
    with (
        httpx.Client(timeout=httpx.Timeout(5.0)) as http,
        http.stream("GET", f"{sse_server}/test-sse", params={"gate": gate}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        for line in response.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
                if events == ["first"]:
                    # Only now may the server produce the last event.
                    client.set(gate, "1", ex=60)
            if line.startswith("data: ") and events == ["first", "last"]:
                assert '"after_gate":true' in line
                break
    client.close()
    assert events == ["first", "last"]
