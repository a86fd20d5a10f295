"""Entity adapters: validation, encryption at rest, and the wire form."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection

from core import entities
from core.entities import FieldError
from core.tenancy import db_context
from core.versioning import VersionClock
from tests.factories import UserFactory, make_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws() -> Any:
    owner = UserFactory()
    workspace = make_workspace(owner, "Entities")
    workspace.owner = owner
    return workspace


def test_every_synced_entity_is_registered() -> None:
    assert set(entities.adapters()) == {
        "connection",
        "saved_query",
        "query_history",
        "chat",
        "chat_message",
    }


def test_round_trip_encrypts_secrets_at_rest(ws: Any) -> None:
    adapter = entities.adapter_for("connection")
    assert adapter is not None
    canary = f"canary-{uuid.uuid4().hex}"
    fields = adapter.validate(
        {"name": "prod", "engine": "postgres", "port": 5432, "password": canary}, creating=True
    )
    with db_context(workspace_id=ws.pk, user_id=ws.owner.pk):
        row = adapter.new_row(workspace_id=ws.pk, user=ws.owner, row_id=uuid.uuid4())
        adapter.apply(row, fields)
        clock = VersionClock.reserve(ws.pk)
        row.touch_fields(fields, version=clock.next(), writer="test")
        row.save()
        with connection.cursor() as cursor:
            cursor.execute("SELECT password_encrypted FROM connections_connection")
            (stored,) = cursor.fetchone()
        assert canary not in stored
        data = adapter.serialize(type(row).objects.get(pk=row.pk))
        assert data["password"] == canary
        assert data["port"] == 5432
        assert "password" not in adapter.serialize(row, include_secrets=False)


@pytest.mark.parametrize(
    ("entity", "fields", "code", "field"),
    [
        ("connection", {"name": "", "engine": "postgres"}, "invalid", "name"),
        ("connection", {"name": "x", "engine": "access97"}, "invalid", "engine"),
        ("connection", {"name": "x", "engine": "mysql", "port": 70000}, "invalid", "port"),
        (
            "connection",
            {"name": "x", "engine": "mysql", "hostname": "h"},
            "unknown_field",
            "hostname",
        ),
        ("saved_query", {"sql": "select 1"}, "invalid", "name"),
        ("saved_query", {"name": "q", "connection_id": "nope"}, "invalid", "connection_id"),
        (
            "query_history",
            {"sql": "select 1", "executed_at": "yesterday"},
            "invalid",
            "executed_at",
        ),
        (
            "chat_message",
            {"chat_id": str(uuid.uuid4()), "role": "robot", "parts": []},
            "invalid",
            "role",
        ),
        ("chat_message", {"role": "user", "parts": []}, "invalid", "chat_id"),
    ],
)
def test_validation_names_the_field(
    entity: str, fields: dict[str, Any], code: str, field: str
) -> None:
    adapter = entities.adapter_for(entity)
    assert adapter is not None
    with pytest.raises(FieldError) as info:
        adapter.validate(fields, creating=True)
    assert (info.value.code, info.value.field) == (code, field)
