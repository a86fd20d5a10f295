"""Fixtures for the assistant's tests: one fake LLM server for the session, a Celery worker and
a gunicorn + uvicorn server pointed at it, and members with access tokens.

The worker and the web server are subprocesses, so their settings come from the environment:
chat goes to the fake server's Anthropic Messages endpoint, one-shot tasks and chat titles to
its OpenAI Responses endpoint (so a title request never takes a reply scripted for a chat).
AI tasks go to a queue of their own, which the suite's general `celery_worker` does not read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, free_port, stop, subprocess_env, wait_for_port
from tests.factories import UserFactory, add_member, make_workspace
from tests.fakes.llm_server import FakeLLMServer, text
from tests.workspaces.conftest import team  # noqa: F401 - alice, adam, bob, vera and charlie

PASSWORD = "correct horse battery"
QUEUE = f"ai-test-{os.getpid()}"
WORKER_NAME = f"ai-test-{os.getpid()}@localhost"


@pytest.fixture(scope="session")
def llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm(llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The session's fake LLM server, emptied for this test."""
    _reset(llm_server)
    yield llm_server
    _reset(llm_server)


def _reset(server: FakeLLMServer) -> None:
    with server._lock:  # test-side reset of the fake's own state
        server._queue.clear()
        server.requests.clear()
        server.disconnects.clear()
    server.token_delay = 0.0
    server.default_reply = text()


def provider_env(server: FakeLLMServer) -> dict[str, str]:
    return {
        "ANTHROPIC_API_KEY": "sk-ant-test-fake",
        "ANTHROPIC_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-openai-test-fake",
        "OPENAI_BASE_URL": server.openai_url,
        "AI_PROVIDER_ORDER": "anthropic,openai",
        "AI_MODEL_CHAT": "anthropic:claude-fake",
        "AI_MODEL_SQL": "openai:gpt-fake",
        "AI_REQUEST_TIMEOUT_SECONDS": "10",
        "AI_MAX_RETRIES": "0",
    }


def ai_env(server: FakeLLMServer, **extra: str) -> dict[str, str]:
    return subprocess_env(
        AI_CELERY_QUEUE=QUEUE,
        AI_STREAM_HEARTBEAT_SECONDS="1",
        AI_STREAM_START_TIMEOUT_SECONDS="20",
        AI_RATE_LIMIT_PER_MINUTE="1000",
        RATE_LIMIT_LOGIN="1000/m/ip",
        **provider_env(server),
        **extra,
    )


def _log(name: str) -> Any:
    (ROOT / "var").mkdir(exist_ok=True)
    return open(ROOT / "var" / f"{name}-{os.getpid()}.log", "wb")


@pytest.fixture(scope="session")
def ai_worker(
    django_db_setup: None, llm_server: FakeLLMServer
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on the AI test queue, talking to the fake LLM server."""
    from config.celery import app

    name = WORKER_NAME
    log = _log("celery-ai-test")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "16",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            QUEUE,
            "-n",
            name,
        ],
        cwd=ROOT,
        env=ai_env(llm_server),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"AI celery worker exited with {proc.returncode}")
        if app.control.ping(destination=[name], timeout=0.5):
            break
    else:
        stop(proc)
        raise RuntimeError("AI celery worker did not answer a ping within 30s")
    yield proc
    stop(proc)
    log.close()


@pytest.fixture(scope="session")
def ai_server(django_db_setup: None, llm_server: FakeLLMServer) -> Iterator[str]:
    """The real web stack (gunicorn + uvicorn worker, every middleware) in a subprocess."""
    port = free_port()
    log = _log("web-ai-test")
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
        env=ai_env(llm_server, HOST="127.0.0.1", PORT=str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}"
    stop(proc)
    log.close()


# ---------------------------------------------------------------------------------------------
# Members and their tokens (for the live server)
# ---------------------------------------------------------------------------------------------
def login(base_url: str, email: str) -> str:
    response = httpx.post(
        f"{base_url}/_allauth/app/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["meta"]["access_token"]
    return token


@dataclass
class Live:
    """alice owns the workspace, bob is a member, vera a viewer, charlie an outsider (owner of
    another workspace)."""

    url: str
    workspace: Any
    owner: Any
    member: Any
    viewer: Any
    outsider: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def ws_url(self, path: str) -> str:
        return f"{self.url}/api/v1/workspaces/{self.workspace.pk}/{path}"

    def token(self, who: str = "owner") -> str:
        if who not in self.tokens:
            self.tokens[who] = login(self.url, getattr(self, who).email)
        return self.tokens[who]

    def headers(self, who: str = "owner", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}", **extra}


def wait_for_idle_worker(timeout: float = 20.0) -> None:
    """Until the AI worker has nothing queued or running: the flush after a transactional test
    (TRUNCATE) must not meet a generation or a title still writing."""
    from django.conf import settings

    from ai.streams import redis_client
    from config.celery import app

    queue_key = f"{settings.REDIS_KEY_PREFIX}celery:{QUEUE}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not redis_client().llen(queue_key):
            active = app.control.inspect(destination=[WORKER_NAME], timeout=0.5).active() or {}
            if not any(active.values()):
                return
        time.sleep(0.1)
    raise RuntimeError("the AI worker did not become idle")


@pytest.fixture
def live(
    transactional_db: None, ai_server: str, ai_worker: Any, llm: FakeLLMServer
) -> Iterator[Live]:
    alice = UserFactory(email="alice@example.com")
    bob = UserFactory(email="bob@example.com")
    vera = UserFactory(email="vera@example.com")
    charlie = UserFactory(email="charlie@example.com")
    workspace = make_workspace(alice, "Acme")
    add_member(workspace, bob, "member")
    add_member(workspace, vera, "viewer")
    make_workspace(charlie, "Charlie's")
    yield Live(ai_server, workspace, alice, bob, vera, charlie)
    wait_for_idle_worker()


# ---------------------------------------------------------------------------------------------
# Reading an SSE response
# ---------------------------------------------------------------------------------------------
@dataclass
class Sse:
    status: int
    headers: httpx.Headers
    chunks: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    pings: int = 0
    done: bool = False
    done_id: str | None = None
    raw: list[str] = field(default_factory=list)
    body: str = ""

    def types(self) -> list[str]:
        return [c["type"] for c in self.chunks]

    def text(self) -> str:
        return "".join(c["delta"] for c in self.chunks if c["type"] == "text-delta")

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [c for c in self.chunks if c["type"] == kind]


def read_sse(response: httpx.Response, *, until: Any = None, max_chunks: int | None = None) -> Sse:
    """Read SSE events until `data: [DONE]` (or `until(chunk)` is true, or max_chunks)."""
    result = Sse(response.status_code, response.headers)
    if response.status_code != 200:
        result.body = response.read().decode()
        return result
    event_id: str | None = None
    for line in response.iter_lines():
        result.raw.append(line)
        if line.startswith(":"):
            result.pings += 1
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            payload = line[6:]
            if payload == "[DONE]":
                result.done = True
                result.done_id = event_id
                break
            chunk = json.loads(payload)
            result.chunks.append(chunk)
            result.ids.append(event_id or "")
            event_id = None
            if until is not None and until(chunk):
                break
            if max_chunks is not None and len(result.chunks) >= max_chunks:
                break
    return result


def user_message(text_value: str, message_id: str | None = None) -> dict[str, Any]:
    import uuid

    return {
        "id": message_id or str(uuid.uuid4()),
        "role": "user",
        "parts": [{"type": "text", "text": text_value}],
    }
