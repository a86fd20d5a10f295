"""The log canary test: the flows that handle secrets run through the real web stack (gunicorn +
uvicorn) and a real Celery worker, both logging at DEBUG in the production format (JSON), with
distinctive canary values; then every line either process wrote is searched for them.

Flows: sign-up with its emailed code, password reset with its code, an invitation and its
link, a connection's password revealed, the assistant asked about (and the model proposing) SQL
that sets a password, approvals by the token in the body and by the deprecated token-in-URL
path, a title search. The processes get a Redis key prefix of their own, so only this worker
takes their tasks; the emails land in files this test reads the codes from.

What is allowed in a log line is in docs/security.md, "What is logged".
"""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from core.logging import fingerprint
from tests.ai.conftest import llm, llm_server, provider_env, read_sse, user_message  # noqa: F401
from tests.conftest import ROOT, free_port, stop, subprocess_env, wait_for_port
from tests.factories import UserFactory, make_workspace
from tests.fakes.llm_server import FakeLLMServer, text, tool_call

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
APP = "/_allauth/app/v1"
V6 = {"User-Agent": "ai-sdk/6.0.0 runtime/node.js/20"}


def _canary(label: str) -> str:
    return f"cnry{label}{uuid.uuid4().hex[:12]}"


@dataclass
class Stack:
    url: str
    web_log: Path
    worker_log: Path
    mail_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            stop(process)

    def lines(self) -> list[str]:
        return [
            line
            for path in (self.web_log, self.worker_log)
            for line in path.read_text(errors="replace").splitlines()
        ]


def _wait_for_line(path: Path, needle: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{path.read_text()[-3000:]}")
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{needle!r} never appeared in {path}")


@pytest.fixture
def stack(
    django_db_setup: None,
    llm_server: FakeLLMServer,  # noqa: F811 - the session's fake LLM server
    tmp_path: Path,
) -> Iterator[Stack]:
    env = subprocess_env(
        **provider_env(llm_server),
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
        # Their own broker and cache key space: this worker alone takes their tasks.
        REDIS_KEY_PREFIX=f"{settings.REDIS_KEY_PREFIX}canary{uuid.uuid4().hex[:6]}:",
        EMAIL_BACKEND="file",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        AI_RATE_LIMIT_PER_MINUTE="1000",
        AI_STREAM_HEARTBEAT_SECONDS="1",
        RATE_LIMIT_LOGIN="1000/m/ip",
    )
    port = free_port()
    stack = Stack(
        url=f"http://127.0.0.1:{port}",
        web_log=tmp_path / "web.log",
        worker_log=tmp_path / "worker.log",
        mail_dir=tmp_path / "mail",
    )
    with stack.worker_log.open("wb") as worker_out, stack.web_log.open("wb") as web_out:
        worker = subprocess.Popen(
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
                "4",
                "--loglevel",
                "DEBUG",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"canary-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
        stack.processes.append(worker)
        web = subprocess.Popen(
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
            env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
            stdout=web_out,
            stderr=subprocess.STDOUT,
        )
        stack.processes.append(web)
        try:
            _wait_for_line(stack.worker_log, " ready.", worker)
            wait_for_port(port, web)
            yield stack
        finally:
            stack.stop()


# ---------------------------------------------------------------------------------------------
# Reading the emails the worker sent
# ---------------------------------------------------------------------------------------------
def _mail(stack: Stack, to: str, subject: str) -> str:
    """The text part of the newest email to `to` whose subject contains `subject`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in reversed(_messages(stack.mail_dir)):
            if to in str(message.get("To", "")) and subject in str(message.get("Subject", "")):
                return _text_part(message)
        time.sleep(0.2)
    raise AssertionError(f"no email to {to} about {subject!r} in {stack.mail_dir}")


def _messages(directory: Path) -> list[Message]:
    found = []
    for path in sorted(directory.glob("*.log")) if directory.exists() else []:
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                found.append(email.message_from_bytes(raw.strip()))
    return found


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()  # type: ignore[union-attr]
    raise AssertionError("no text part")


def _code(body: str) -> str:
    match = re.search(r"^\s+(\d{6})\s*$", body, re.MULTILINE)
    assert match, body
    return match.group(1)


# ---------------------------------------------------------------------------------------------
class Client:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.url, timeout=30)

    def login(self, email_address: str, password: str = PASSWORD) -> dict[str, str]:
        response = self.http.post(
            f"{APP}/auth/login", json={"email": email_address, "password": password}
        )
        assert response.status_code == 200, response.text
        return self.bearer(response.json()["meta"]["access_token"])

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def test_no_secret_reaches_a_log_line(
    stack: Stack,
    llm: FakeLLMServer,  # noqa: F811 - the fixture, emptied for this test
) -> None:
    secrets: dict[str, str] = {}  # what must never be logged: label -> value
    codes: dict[str, str] = {}  # six-digit codes: checked as whole numbers
    client = Client(stack)
    alice = UserFactory(email="alice@example.com")
    UserFactory(email="dana@example.com")
    workspace = make_workspace(alice, "Acme", plan="team", seats=10)
    ws = f"/api/v1/workspaces/{workspace.pk}"

    # Sign-up: the password, the emailed code, the session and access tokens.
    secrets["signup password"] = _canary("signup")
    signup = client.http.post(
        f"{APP}/auth/signup",
        json={"email": "ivy@example.com", "password": secrets["signup password"]},
    )
    assert signup.status_code == 401, signup.text
    secrets["session token"] = signup.json()["meta"]["session_token"]
    codes["verification code"] = _code(_mail(stack, "ivy@example.com", "code"))
    verified = client.http.post(
        f"{APP}/auth/email/verify",
        json={"key": codes["verification code"]},
        headers={"X-Session-Token": secrets["session token"]},
    )
    assert verified.status_code == 200, verified.text
    secrets["access token"] = verified.json()["meta"]["access_token"]
    secrets["refresh token"] = verified.json()["meta"]["refresh_token"]

    # Password reset: the emailed code and the new password.
    requested = client.http.post(f"{APP}/auth/password/request", json={"email": "ivy@example.com"})
    assert requested.status_code == 401, requested.text
    codes["reset code"] = _code(_mail(stack, "ivy@example.com", "password reset code"))
    secrets["new password"] = _canary("reset")
    reset = client.http.post(
        f"{APP}/auth/password/reset",
        json={"key": codes["reset code"], "password": secrets["new password"]},
        headers={"X-Session-Token": requested.json()["meta"]["session_token"]},
    )
    assert reset.status_code == 401, reset.text  # reset, not signed in
    client.login("ivy@example.com", secrets["new password"])

    # An invitation: the token of its link.
    owner = client.login("alice@example.com")
    invited = client.http.post(
        f"{ws}/invitations/", json={"email": "dana@example.com", "role": "member"}, headers=owner
    )
    assert invited.status_code == 201, invited.text
    link = re.search(
        r"/invitations/([0-9a-f]{32}\.[A-Za-z0-9_\-]+)", _mail(stack, "dana@example.com", "invited")
    )
    assert link
    secrets["invitation token"] = link.group(1)
    dana = client.login("dana@example.com")
    for step in ("preview", "accept"):
        response = client.http.post(
            f"/api/v1/invitations/{step}", json={"token": secrets["invitation token"]}, headers=dana
        )
        assert response.status_code in (200, 201), response.text

    # A connection's password, revealed.
    secrets["connection password"] = _canary("conn")
    created = client.http.post(
        f"{ws}/connections/",
        json={
            "name": "prod",
            "engine": "postgres",
            "host": "db.example.com",
            "port": 5432,
            "username": "app",
            "password": secrets["connection password"],
        },
        headers=owner,
    )
    assert created.status_code == 201, created.text
    revealed = client.http.post(f"{ws}/connections/{created.json()['id']}/reveal", headers=owner)
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["password"] == secrets["connection password"]

    # The assistant: a question and a model's tool call with SQL that sets a password; the
    # approval its write needs, by the token in the body.
    secrets["question"] = _canary("question")
    secrets["sql password in chat"] = _canary("sqlchat")
    llm.enqueue(
        tool_call(
            "run_readonly_query",
            {"sql": f"CREATE USER bob WITH PASSWORD '{secrets['sql password in chat']}'"},
            id="toolu_w",
            path="/messages",
        )
    )
    chat_id = uuid.uuid4()
    with client.http.stream(
        "POST",
        f"{ws}/chats/{chat_id}/messages",
        json={
            "id": str(chat_id),
            "trigger": "submit-message",
            "messages": [user_message(f"Add a user, password {secrets['question']}")],
            "context": {
                "dialect": "postgres",
                "editor_sql": f"ALTER USER bob PASSWORD '{secrets['question']}'",
            },
        },
        headers={**owner, **V6},
    ) as response:
        answer = read_sse(response)
    assert answer.status == 200, answer.body
    (approval,) = answer.of("tool-approval-request")
    secrets["approval token in body"] = approval["approvalId"]
    approved = client.http.post(
        f"{ws}/ai/approvals/approve",
        json={
            "token": secrets["approval token in body"],
            "sql": f"CREATE USER bob WITH PASSWORD '{secrets['sql password in chat']}'",
        },
        headers=owner,
    )
    assert approved.status_code == 200, approved.text

    # The worker titles the chat (from the first message: the fake's default reply is no
    # title), with a request to the provider the next one-shot request must not meet.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        chat = client.http.get(f"{ws}/chats/{chat_id}", headers=owner).json()
        if chat.get("title"):
            break
        time.sleep(0.2)
    assert secrets["question"] in chat["title"]
    secrets["chat title"] = chat["title"]

    # One-shot help with such SQL; an approval by the deprecated path (the token in the URL).
    secrets["sql password one-shot"] = _canary("sqlfix")
    sql = f"CREATE ROLE ops LOGIN PASSWORD '{secrets['sql password one-shot']}'"
    llm.enqueue(
        text(json.dumps({"sql": sql, "explanation": "fixed"}), path="/responses"),
    )
    fixed = client.http.post(
        f"{ws}/ai/fix-sql",
        json={"sql": sql, "error": f"syntax error near {secrets['sql password one-shot']}"},
        headers=owner,
    )
    assert fixed.status_code == 200, fixed.text
    asked = client.http.post(
        f"{ws}/ai/approvals", json={"sql": sql, "dialect": "postgres"}, headers=owner
    )
    assert asked.status_code == 201, asked.text
    secrets["approval token in url"] = asked.json()["token"]
    by_path = client.http.post(
        f"{ws}/ai/approvals/{secrets['approval token in url']}/approve",
        json={"sql": sql},
        headers=owner,
    )
    assert by_path.status_code == 200, by_path.text

    # A title search: query strings are never logged.
    secrets["title search"] = _canary("search")
    searched = client.http.get(f"{ws}/chats/", params={"q": secrets["title search"]}, headers=owner)
    assert searched.status_code == 200, searched.text

    stack.stop()  # every line written and flushed
    lines = stack.lines()
    logged = "\n".join(lines)

    # The capture is real: both processes wrote JSON lines at DEBUG about these flows.
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r["level"] == "DEBUG" for r in records)
    assert any(r["logger"] == "dbw.request" and "/auth/signup" in r["message"] for r in records)
    assert any("accounts.send_email" in r["message"] for r in records)
    assert any("ai.generate_reply" in r["message"] for r in records)
    # The deprecated path's token shows up as its fingerprint.
    assert fingerprint(secrets["approval token in url"]) in logged

    leaked = {label for label, value in secrets.items() if value in logged}
    leaked |= {
        label
        for label, value in codes.items()
        if re.search(rf"(?<![0-9A-Za-z.]){value}(?![0-9A-Za-z.])", logged)
    }
    where = {
        label: next(line for line in lines if (secrets.get(label) or codes[label]) in line)[:400]
        for label in leaked
    }
    assert not leaked, where
