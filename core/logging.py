from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from core import context
from core.sentry import scrub_string

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RequestContextFilter(logging.Filter):
    """Stamps every record with the request id, user id and workspace id in force."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        for key in ("request_id", "user_id", "workspace_id"):
            if not hasattr(record, key):
                setattr(record, key, getattr(ctx, key))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any `extra=` fields kept as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            # RedactionFilter leaves the traceback's redacted text in exc_text.
            payload["exc_info"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


# ---------------------------------------------------------------------------------------------
# What never reaches a log line (docs/security.md, "What is logged")
# ---------------------------------------------------------------------------------------------
REDACTED = "[redacted]"

# Query-string parameters that carry a secret or a one-time value: their values are dropped
# wherever a URL shows up in a log line (desktop OAuth `flow`, provider `code`/`state`,
# verification and invitation `key`s, tokens of any kind).
SECRET_QUERY_PARAMS = (
    "token",
    "access_token",
    "refresh_token",
    "session_token",
    "id_token",
    "key",
    "code",
    "flow",
    "state",
    "password",
    "secret",
    "signature",
    "sig",
    "otp",
)
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:" + "|".join(SECRET_QUERY_PARAMS) + r")=)[^&#;\s\"']+")
# A path segment that looks like a bearer token: 32 or more URL-safe characters. UUIDs (the
# ids of rows, which are not secrets) are left alone.
_TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_-]{32,}(?=[/?#;\s\"']|$)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# SQL that sets a password (CREATE/ALTER USER|ROLE ... PASSWORD '...', IDENTIFIED BY '...').
_SQL_PASSWORD = re.compile(r"(?i)\b(password|identified\s+by)(\s+)('(?:[^']|'')*'|\"[^\"]*\")")


def fingerprint(secret: str) -> str:
    """What a log line may say about a secret: the start of its SHA-256, enough to tell two
    requests' tokens apart and to find one in a log when its holder reports it."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def _segment(match: re.Match[str]) -> str:
    value = match.group(0)
    return value if _UUID.fullmatch(value) else fingerprint(value)


def safe_path(path: str) -> str:
    """A URL path (with or without its query string) as it may be logged: token-like path
    segments become their fingerprint, secret query parameters lose their values."""
    return _QUERY_SECRET.sub(r"\1" + REDACTED, _TOKEN_SEGMENT.sub(_segment, path))


def exception_origin(error: BaseException) -> str:
    """Where an exception was raised (`file.py:123 in function`, the innermost frame) and its
    type: what a log line says about an error whose message quotes its input (a parser's error
    quotes the SQL it could not read)."""
    frame = None
    tb = error.__traceback__
    while tb is not None:
        frame, tb = tb, tb.tb_next
    if frame is None:
        return type(error).__name__
    code = frame.tb_frame.f_code
    where = f"{code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno} in {code.co_name}"
    return f"{type(error).__name__} at {where}"


def redact_text(text: str) -> str:
    """A log message with the secrets a message may quote by accident taken out: tokens in
    URLs, passwords in SQL and connection strings, bearer tokens and provider keys (the value
    patterns Sentry's scrubber uses, core.sentry)."""
    text = _SQL_PASSWORD.sub(r"\1\2'" + REDACTED + "'", text)
    return scrub_string(safe_path(text))


# Loggers of libraries that quote their input in messages (sqlglot quotes the SQL it could
# not parse, passwords included): their records keep their level and logger, not their text.
QUOTES_INPUT = ("sqlglot",)
# Celery's records carry the task's arguments (`data` extra, and the format arguments), and
# its pool's DEBUG line the raw message body.
_CELERY_ARGUMENT_KEYS = ("args", "kwargs")


def _withheld(record: logging.LogRecord) -> bool:
    return any(record.name == name or record.name.startswith(name + ".") for name in QUOTES_INPUT)


def _without_task_arguments(value: Any) -> Any:
    """Celery's context of a record (the `data` extra, the format arguments) without the task's
    arguments, its other texts (the exception, the traceback) redacted."""
    if isinstance(value, dict) and any(key in value for key in _CELERY_ARGUMENT_KEYS):
        return {
            key: (
                REDACTED
                if key in _CELERY_ARGUMENT_KEYS
                else redact_text(item)
                if isinstance(item, str)
                else item
            )
            for key, item in value.items()
        }
    return value


class RedactionFilter(logging.Filter):
    """The last lock before a line is written: on every handler, for every logger.

    Celery task arguments are dropped (their repr is redacted when a task is published, see
    task_arguments_repr; this catches messages published before that and the pool's
    DEBUG line, which shows the raw body); libraries that quote their input (QUOTES_INPUT) keep
    only their level and name; any message is passed through redact_text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._redact(record)
        except Exception:  # a log line must never fail its caller
            record.msg, record.args = f"{record.name}: message withheld (redaction failed)", None
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        if _withheld(record):
            level = record.levelname.lower()
            record.msg = f"{record.name} {level}: message withheld (it quotes its input)"
            record.args = None
            record.exc_info = record.exc_text = None
            return
        if record.name.startswith("celery"):
            data = record.__dict__.get("data")
            if data is not None:
                record.data = _without_task_arguments(data)
            if isinstance(record.args, dict):
                record.args = _without_task_arguments(record.args)
            elif record.msg == _POOL_APPLY and isinstance(record.args, tuple) and record.args:
                record.args = (record.args[0], REDACTED, REDACTED)
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(_TRACEBACKS.formatException(record.exc_info))
        for key in ("path", "url"):
            value = record.__dict__.get(key)
            if isinstance(value, str):
                record.__dict__[key] = safe_path(value)


def _shape(value: Any) -> str:
    """An argument as logs may show it: ids (UUIDs), numbers, booleans and None as they are;
    anything else by its type and size only."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, uuid.UUID) or (isinstance(value, str) and _UUID.fullmatch(value)):
        return repr(str(value))
    if isinstance(value, str):
        return f"<str: {len(value)} chars>"
    if isinstance(value, dict):
        return f"<dict: {len(value)} keys>"
    if isinstance(value, list | tuple):
        return f"<{type(value).__name__}: {len(value)} items>"
    return f"<{type(value).__name__}>"


def task_arguments_repr(args: Any, kwargs: Any) -> tuple[str, str]:
    """(argsrepr, kwargsrepr) of a task message: what the worker logs when it receives, runs,
    retries or fails the task (Celery's default is the full repr: an email task's would be
    the rendered message, verification code and invitation link included)."""
    args_repr = "(" + ", ".join(_shape(value) for value in args or ()) + ")"
    items = (f"{key!r}: {_shape(value)}" for key, value in (kwargs or {}).items())
    kwargs_repr = "{" + ", ".join(items) + "}"
    return args_repr, kwargs_repr


def redact_published_arguments(
    body: Any = None, headers: dict[str, Any] | None = None, **_: Any
) -> None:
    """`before_task_publish` receiver (connected in config/celery.py, so every process that
    publishes, web, worker retries and beat, runs it): replaces the message's argsrepr and
    kwargsrepr, which Celery logs, with task_arguments_repr. The arguments themselves travel
    unchanged."""
    if headers is None or "argsrepr" not in headers:
        return
    args, kwargs = ((), {})
    if isinstance(body, list | tuple) and len(body) >= 2:
        args, kwargs = body[0], body[1]
    headers["argsrepr"], headers["kwargsrepr"] = task_arguments_repr(args, kwargs)


_TRACEBACKS = logging.Formatter()
# celery.concurrency.base: the DEBUG line of every task the pool runs, with the message body.
_POOL_APPLY = "TaskPool: Apply %s (args:%s kwargs:%s)"
