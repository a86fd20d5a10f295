from __future__ import annotations

from connections.models import SECRET_FIELDS, Connection, Engine
from core import entities as e

SECRET_MAX = 64 * 1024


class ConnectionEntity(e.EntityAdapter):
    entity = "connection"
    model = Connection
    validators = {
        "name": e.text(200, min_length=1),
        "engine": e.choice(Engine.values),
        "host": e.text(255),
        "port": e.integer(min_value=1, max_value=65535),
        "database": e.text(255),
        "username": e.text(255),
        "options": e.json_object(nullable=False, max_bytes=64 * 1024),
        "color": e.text(32),
        "tags": e.string_list(),
        "read_only": e.boolean(),
        **{name: e.text(SECRET_MAX, nullable=True) for name in SECRET_FIELDS},
    }
    encrypted = {name: e.Encrypted() for name in SECRET_FIELDS}
    secret_fields = frozenset(SECRET_FIELDS)
    required_on_create = ("name", "engine")
