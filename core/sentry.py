"""Sentry set-up with a scrubber that keeps secrets out of every event.

Database workbench users paste passwords, connection strings and API keys into everything, so
beyond Sentry's default PII rules we scrub by key name (anywhere in the event: request data,
headers, cookies, extra, breadcrumbs, local variables) and by value shape (URLs with a password,
bearer tokens, provider API keys, PEM private keys). The key names include every registered
entity's secret fields (core.entities.secret_field_names), so a new secret field is scrubbed
without anyone editing the pattern: Sentry is a channel no secret may take, for anyone
(docs/permissions.md, "Secrets by role").
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"

_SECRET_KEY_RE = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|authorization|cookie|session|"
    r"private[_-]?key|connection[_-]?string|dsn|credential|signature|otp|totp|recovery|"
    r"ssh_|tls_client_key|sslkey|key$|client_secret|encryption_keys?|database_url|redis_url|sql",
    re.IGNORECASE,
)
_SECRET_VALUE_RES = [
    # scheme://user:password@host  ->  scheme://user:[Filtered]@host
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1" + FILTERED + "@"),
    (re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9\-._~+/]{8,}=*"), r"\1 " + FILTERED),
    (re.compile(r"\bsk-(ant-)?[A-Za-z0-9\-_]{10,}"), FILTERED),
    (re.compile(r"\b(re|rk|pk|sk|whsec)_[A-Za-z0-9]{10,}"), FILTERED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), FILTERED),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        FILTERED,
    ),
    (re.compile(r"(?i)(password|pwd)\s*=\s*[^;\s&]+"), r"\1=" + FILTERED),
]


def scrub_string(value: str) -> str:
    for pattern, replacement in _SECRET_VALUE_RES:
        value = pattern.sub(replacement, value)
    return value


def is_secret_key(key: str) -> bool:
    """A key whose value is filtered: a registered secret field or a secret-looking name."""
    # Imported here: settings import this module (init_sentry) before the app registry, and
    # with it the models core.entities stands on, is ready.
    from core.entities import secret_field_names

    return key in secret_field_names() or _SECRET_KEY_RE.search(key) is not None


def scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return FILTERED
    if isinstance(value, dict):
        return {
            key: (
                FILTERED
                if isinstance(key, str) and is_secret_key(key) and value[key] not in (None, "")
                else scrub(item, depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        return scrub_string(value)
    return value


def _scrub_headers(headers: Any) -> Any:
    if isinstance(headers, dict):
        return scrub(headers)
    if isinstance(headers, list):  # [[name, value], ...]
        return [
            [name, FILTERED if is_secret_key(str(name)) else scrub(val)] for name, val in headers
        ]
    return headers


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        if "headers" in request:
            request["headers"] = _scrub_headers(request["headers"])
        request.pop("cookies", None)
        if "data" in request:
            request["data"] = (
                FILTERED if isinstance(request["data"], str) else scrub(request["data"])
            )
        if "query_string" in request and isinstance(request["query_string"], str):
            request["query_string"] = scrub_string(request["query_string"])
        if isinstance(request.get("url"), str):
            request["url"] = scrub_string(request["url"])
    for key in ("extra", "contexts", "tags", "user"):
        if key in event:
            event[key] = scrub(event[key])
    if "logentry" in event and isinstance(event["logentry"], dict):
        event["logentry"] = scrub(event["logentry"])
        for field in ("message", "formatted"):
            if isinstance(event["logentry"].get(field), str):
                event["logentry"][field] = scrub_string(event["logentry"][field])
    if isinstance(event.get("message"), str):
        event["message"] = scrub_string(event["message"])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [scrub(crumb) for crumb in breadcrumbs["values"]]
    for exception in (event.get("exception") or {}).get("values", []) or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub_string(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            if "vars" in frame:
                frame["vars"] = scrub(frame["vars"])
    return event


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    scrubbed: dict[str, Any] = scrub(crumb)
    return scrubbed


def init_sentry(
    *,
    dsn: str,
    environment: str,
    release: str,
    traces_sample_rate: float,
    transport: Any = None,
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        "traces_sample_rate": traces_sample_rate,
        "max_request_body_size": "never",
        "include_local_variables": True,
        "before_send": before_send,
        "before_breadcrumb": before_breadcrumb,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
