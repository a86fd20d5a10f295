from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client

from core.logging import JsonFormatter, RequestContextFilter
from tests.conftest import ROOT, subprocess_env


@pytest.fixture
def json_log() -> Any:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("dbw.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_request_log_line_is_json_with_context(client: Client, json_log: io.StringIO) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(email="log@example.com", password="x" * 12)
    client.force_login(user)
    client.get("/api/schema/", HTTP_X_REQUEST_ID="req-42")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines, "no log line was written"
    record = lines[-1]
    assert record["request_id"] == "req-42"
    assert record["user_id"] == str(user.pk)
    assert record["method"] == "GET"
    assert record["path"] == "/api/schema/"
    assert record["status"] == 200
    assert isinstance(record["duration_ms"], float)
    assert "workspace_id" in record


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            "/dev/null",
        ],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_and_docs_are_served(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    spec = json.loads(schema.content)
    assert spec["openapi"].startswith("3.")
    assert "Error" in spec["components"]["schemas"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
