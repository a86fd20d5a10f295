"""What never reaches a log line (docs/security.md, "What is logged"), piece by piece: task
arguments, libraries that quote their input, provider SDKs at DEBUG, tokens in URLs. Every
line is rendered the way the service renders it: the configured console handler's filters, then
both formatters. tests/test_log_canaries.py runs the whole flows through real processes."""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from core.logging import (
    REDACTED,
    JsonFormatter,
    RedactionFilter,
    fingerprint,
    redact_text,
    safe_path,
    task_arguments_repr,
)
from core.tasks import enqueue_on_commit
from tests.factories import UserFactory, add_member, make_workspace
from tests.fakes.llm_server import FakeLLMServer, text

CANARY = "canary-7f3a9c"


def _console() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if h.get_name() == "console")


def _render(record: logging.LogRecord) -> str:
    """The record as both formatters write it, after the console handler's filters."""
    console = _console()
    for log_filter in console.filters:
        assert log_filter.filter(record) if hasattr(log_filter, "filter") else log_filter(record)  # type: ignore[operator]
    text_formatter = logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s] %(message)s"
    )
    return JsonFormatter().format(record) + "\n" + text_formatter.format(record)


@pytest.fixture
def log_output() -> Iterator[Callable[[], str]]:
    """Every line the process logs, at DEBUG, as the console handler would write it (JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for log_filter in _console().filters:
        handler.addFilter(log_filter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def member(db: None) -> tuple[Any, APIClient]:
    """(workspace, API client of a member of it)."""
    owner, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    workspace = make_workspace(owner, "Acme", plan="team", seats=10)
    add_member(workspace, bob, "member")
    client = APIClient()
    client.force_authenticate(bob)
    return workspace, client


def test_the_console_handler_redacts() -> None:
    assert any(isinstance(f, RedactionFilter) for f in _console().filters)


# ---------------------------------------------------------------------------------------------
# Celery: task arguments
# ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_published_tasks_carry_a_redacted_argument_repr(
    redis_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The repr the worker logs ("received", "succeeded", retries, failures) says what the
    arguments are, not what they hold; the arguments travel unchanged."""
    queue = f"redaction-test-{uuid.uuid4().hex}"
    payload = {"subject": f"Your code {CANARY}", "text": f"Enter {CANARY}", "to": ["a@b.c"]}
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit("accounts.send_email", payload, queue=queue)
    key = f"{settings.REDIS_KEY_PREFIX}celery:{queue}"
    try:
        (raw,) = redis_client.lrange(key, 0, -1)
    finally:
        redis_client.delete(key)
    message = json.loads(raw)
    headers = message["headers"]
    assert CANARY not in headers["argsrepr"] + headers["kwargsrepr"]
    assert headers["argsrepr"] == "(<dict: 3 keys>)"
    assert headers["kwargsrepr"] == "{}"
    body = base64.b64decode(message["body"]).decode()
    assert CANARY in body  # the arguments themselves travel unchanged


def test_task_arguments_repr_keeps_ids_only() -> None:
    ident = uuid.uuid4()
    args, kwargs = task_arguments_repr(
        [str(ident), ident, 3, None, True, "a secret", ["x"]], {"code": "123456", "n": 2}
    )
    assert args == f"('{ident}', '{ident}', 3, None, True, <str: 8 chars>, <list: 1 items>)"
    assert kwargs == "{'code': <str: 6 chars>, 'n': 2}"


def _celery_record(name: str, fmt: str, context: dict[str, Any], level: int) -> logging.LogRecord:
    record = logging.getLogger(name).makeRecord(
        name, level, __file__, 1, fmt, (context,), None, extra={"data": context}
    )
    return record


@pytest.mark.parametrize(
    ("name", "fmt", "level"),
    [
        ("celery.worker.strategy", "Task %(name)s[%(id)s] received", logging.INFO),
        (
            "celery.app.trace",
            "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
            logging.INFO,
        ),
        ("celery.app.trace", "Task %(name)s[%(id)s] %(description)s: %(exc)s", logging.ERROR),
    ],
)
def test_celery_records_lose_the_arguments_of_messages_published_before(
    name: str, fmt: str, level: int
) -> None:
    """Messages queued before this release carry Celery's own full repr: the filter drops it
    from the records the worker writes about them."""
    context = {
        "id": "t1",
        "name": "accounts.send_email",
        "args": f"({{'text': 'code {CANARY}'}},)",
        "kwargs": f"{{'code': '{CANARY}'}}",
        "runtime": 0.1,
        "return_value": 1,
        "description": "raised unexpected",
        "exc": f"ValueError('postgres://app:{CANARY}@db/x')",
        "traceback": f"Traceback ...\nValueError: postgres://app:{CANARY}@db/x",
        "eta": None,
    }
    out = _render(_celery_record(name, fmt, context, level))
    assert CANARY not in out
    assert "accounts.send_email" in out


def test_the_pools_debug_line_loses_the_message_body() -> None:
    record = logging.getLogger("celery.pool").makeRecord(
        "celery.pool",
        logging.DEBUG,
        __file__,
        1,
        "TaskPool: Apply %s (args:%s kwargs:%s)",
        ("<function fast_trace_task>", f"('accounts.send_email', 'id', {{}}, '[{CANARY}]')", "{}"),
        None,
    )
    out = _render(record)
    assert CANARY not in out
    assert "fast_trace_task" in out


# ---------------------------------------------------------------------------------------------
# Libraries that quote their input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        f"CREATE USER bob WITH PASSWORD '{CANARY}'",
        f"ALTER ROLE bob PASSWORD '{CANARY}'",
        f"CREATE USER 'bob'@'%' IDENTIFIED BY '{CANARY}'",
    ],
)
def test_the_guardrail_never_logs_the_sql(sql: str, log_output: Callable[[], str]) -> None:
    from ai.guardrails import classify

    for dialect in ("postgres", "mysql", "mssql", "sqlite", "clickhouse"):
        classify(sql, dialect)
    assert CANARY not in log_output()


def test_a_quoting_librarys_records_keep_level_and_name_only() -> None:
    for name in ("sqlglot", "sqlglot.parser"):
        record = logging.getLogger(name).makeRecord(
            name,
            logging.ERROR,
            __file__,
            1,
            "'%s' contains unsupported syntax.",
            (f"CREATE USER bob WITH PASSWORD '{CANARY}'",),
            None,
        )
        out = _render(record)
        assert CANARY not in out
        assert f"{name} error: message withheld" in out


def test_tracebacks_are_redacted() -> None:
    try:
        raise RuntimeError(f"connect failed: postgres://bob:{CANARY}@db.internal/app")
    except RuntimeError:
        record = logging.getLogger("dbw.test").makeRecord(
            "dbw.test", logging.ERROR, __file__, 1, "boom", (), __import__("sys").exc_info()
        )
    out = _render(record)
    assert "connect failed" in out
    assert CANARY not in out


# ---------------------------------------------------------------------------------------------
# Provider SDKs log every request body at DEBUG
# ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_provider_requests_are_not_logged_at_debug(
    member: tuple[Any, APIClient], fake_llm: FakeLLMServer, log_output: Callable[[], str]
) -> None:
    workspace, client = member
    fake_llm.enqueue(text(json.dumps({"sql": "SELECT 1", "explanation": "x"}), usage=(3, 3)))
    question = f"Create a user with the password {CANARY}"
    with override_settings(**fake_llm.settings(order=("openai",)), AI_RATE_LIMIT_PER_MINUTE=100):
        response = client.post(
            f"/api/v1/workspaces/{workspace.pk}/ai/generate-sql",
            {"question": question, "dialect": "postgres"},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert CANARY in json.dumps(fake_llm.requests[-1].body)  # it did go to the provider
    out = log_output()
    assert "generate-sql 200" in out  # the request was logged, at all
    assert CANARY not in out


@pytest.mark.django_db
def test_sql_statements_and_their_parameters_are_not_logged_at_debug(
    log_output: Callable[[], str],
) -> None:
    """Django logs every statement with its parameters at DEBUG when DEBUG is on."""
    from django.db import connection

    connection.force_debug_cursor = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [CANARY])
    finally:
        connection.force_debug_cursor = False
    assert CANARY not in log_output()


# ---------------------------------------------------------------------------------------------
# Tokens in URLs
# ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_token_in_a_path_is_logged_as_its_fingerprint(
    member: tuple[Any, APIClient], log_output: Callable[[], str]
) -> None:
    workspace, client = member
    token = "T" * 10 + CANARY + "Q" * 30
    response = client.post(
        f"/api/v1/workspaces/{workspace.pk}/ai/approvals/{token}/approve?token={CANARY}",
        {"sql": "DELETE FROM t"},
        format="json",
    )
    assert response.status_code == 410
    out = log_output()
    assert CANARY not in out
    lines = [json.loads(line) for line in out.splitlines() if '"dbw.request"' in line]
    assert lines[-1]["path"] == (
        f"/api/v1/workspaces/{workspace.pk}/ai/approvals/{fingerprint(token)}/approve"
    )


def test_safe_path() -> None:
    ident = uuid.uuid4()
    token = "A" * 43
    assert safe_path(f"/w/{ident}/x") == f"/w/{ident}/x"  # ids stay
    assert safe_path(f"/a/{token}/approve") == f"/a/{fingerprint(token)}/approve"
    assert safe_path("/generation/0123456789abcdef") == "/generation/0123456789abcdef"
    complete = "/api/v1/auth/desktop/oauth/complete?flow=abc&error=x"
    assert safe_path(complete) == f"/api/v1/auth/desktop/oauth/complete?flow={REDACTED}&error=x"
    assert safe_path("/cb?code=1&state=2&Key=3&page=4") == (
        f"/cb?code={REDACTED}&state={REDACTED}&Key={REDACTED}&page=4"
    )


def test_redact_text() -> None:
    assert CANARY not in redact_text(f"CREATE USER bob WITH PASSWORD '{CANARY}'")
    assert CANARY not in redact_text(f'alter user x identified by "{CANARY}"')
    assert CANARY not in redact_text(f"dsn postgres://u:{CANARY}@h/db")
    assert CANARY not in redact_text(f"GET https://x/invite?key={CANARY}")
    assert redact_text("nothing secret here: 42 rows") == "nothing secret here: 42 rows"
