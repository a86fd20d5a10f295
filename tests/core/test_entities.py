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


def test_serialize_many_equals_serialize_row_by_row(ws: Any) -> None:
    """List endpoints serialize a page with serialize_many (batch decryption): it must give
    serialize()'s wire form for every entity, secrets withheld alike."""
    from core.entity_writes import entity_create

    user = ws.owner
    created: dict[str, list[Any]] = {}
    samples: dict[str, list[dict[str, Any]]] = {
        "connection": [
            {"name": "prod", "engine": "postgres", "password": "s3cret ✓"},
            {"name": "dev", "engine": "mysql", "port": 3306},
        ],
        "saved_query": [
            {"name": "a", "sql": "select 1", "tags": ["x"]},
            {"name": "b", "description": "no sql"},
            {"name": "c", "sql": "select 'ü'", "favorite": True},
        ],
        "query_history": [
            {"sql": "select 1", "success": True},
            {"sql": "select nope", "success": False, "error": "column ✗ does not exist"},
        ],
        "chat": [{"title": "t"}],
    }
    with db_context(workspace_id=ws.pk, user_id=user.pk):
        for entity, rows in samples.items():
            adapter = entities.adapter_for(entity)
            assert adapter is not None
            created[entity] = [
                entity_create(adapter, workspace_id=ws.pk, user=user, fields=f, writer="test")
                for f in rows
            ]
        chat_id = str(created["chat"][0].id)
        message = entities.adapter_for("chat_message")
        assert message is not None
        created["chat_message"] = [
            entity_create(
                message,
                workspace_id=ws.pk,
                user=user,
                fields={"chat_id": chat_id, "role": role, "parts": parts, "metadata": meta},
                writer="test",
            )
            for role, parts, meta in (
                ("user", [{"type": "text", "text": "hi ✓"}], None),
                ("assistant", [{"type": "text", "text": "hello"}], {"k": [1, 2]}),
            )
        ]
        for entity, rows in created.items():
            adapter = entities.adapter_for(entity)
            assert adapter is not None
            fresh = list(adapter.model.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk"))
            assert len(fresh) == len(rows)
            for secrets in (True, False):
                expected = [adapter.serialize(r, include_secrets=secrets) for r in fresh]
                assert adapter.serialize_many(fresh, include_secrets=secrets) == expected
            assert adapter.serialize_many([]) == []
    assert created["connection"][0].password_encrypted is not None
