"""Every error, whatever raised it, reaches the client in the one JSON error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

pytestmark = [pytest.mark.urls("tests.core.error_urls"), pytest.mark.django_db]


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_validation_error_has_per_field_messages(client: Client) -> None:
    response = client.post(
        "/api/v1/test/echo", {"name": "too long", "port": 0}, content_type="application/json"
    )
    error = _error(response, 400, "validation_error")
    assert set(error["fields"]) == {"name", "port"}
    assert all(isinstance(m, str) for m in error["fields"]["name"])


def test_malformed_json_is_400(client: Client) -> None:
    response = client.post("/api/v1/test/echo", "{not json", content_type="application/json")
    _error(response, 400, "malformed_request")


def test_unauthenticated_is_401_or_403_with_shape(client: Client) -> None:
    response = client.get("/api/v1/test/private")
    # Session auth has no WWW-Authenticate challenge, so DRF answers 403; token auth gives 401.
    assert response.status_code in (401, 403)
    _error(response, response.status_code, "not_authenticated")


def test_unknown_path_is_404(client: Client) -> None:
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")
    _error(client.get("/not-an-api-path"), 404, "not_found")


def test_wrong_method_is_405(client: Client) -> None:
    _error(client.delete("/api/v1/test/echo"), 405, "method_not_allowed")


def test_domain_conflict_is_409_with_extra(client: Client) -> None:
    error = _error(client.post("/api/v1/test/conflict"), 409, "stale_version")
    assert error["current_version"] == 7


def test_payment_required_is_402(client: Client) -> None:
    _error(client.get("/api/v1/test/payment"), 402, "plan_limit")


def test_declared_oversized_body_is_413_without_reading(client: Client, settings: Any) -> None:
    settings.MAX_REQUEST_BYTES = 2048
    response = client.generic(
        "POST",
        "/api/v1/test/echo",
        data=b"x" * 10,
        content_type="application/json",
        CONTENT_LENGTH="999999999",
    )
    error = _error(response, 413, "request_too_large")
    assert error["limit_bytes"] == 2048


def test_body_over_django_limit_is_413(client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    payload = json.dumps({"name": "a" * 5000, "port": 1})
    _error(
        client.post("/api/v1/test/echo", payload, content_type="application/json"),
        413,
        "request_too_large",
    )


def test_unsupported_media_type_is_415(client: Client) -> None:
    _error(
        client.post("/api/v1/test/echo", "a=b", content_type="text/plain"),
        415,
        "unsupported_media_type",
    )


def test_throttled_is_429_with_retry_after(client: Client) -> None:
    from django.core.cache import cache

    cache.clear()
    for _ in range(2):
        assert client.get("/api/v1/test/throttled").status_code == 200
    response = client.get("/api/v1/test/throttled")
    _error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0


def test_unhandled_exception_is_500_without_details(client: Client) -> None:
    client.raise_request_exception = False
    response = client.get("/api/v1/test/boom")
    error = _error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in error["message"]


def test_csrf_failure_is_403_in_shape() -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(email="csrf@example.com", password="x" * 12)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/admin/logout/")
    _error(response, 403, "csrf_failed")


def test_disallowed_host_is_400(client: Client) -> None:
    _error(client.get("/api/v1/", HTTP_HOST="evil.example.org"), 400, "bad_request")


def test_request_id_is_echoed_and_generated(client: Client) -> None:
    response = client.get("/api/v1/", HTTP_X_REQUEST_ID="abc-123")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "abc-123"
    generated = client.get("/api/v1/", HTTP_X_REQUEST_ID="bad id with spaces\n")["X-Request-ID"]
    assert generated != "bad id with spaces\n"
    assert len(generated) == 32
