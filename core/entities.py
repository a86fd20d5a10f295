"""Synced entities: one adapter per entity turns wire fields into model rows and back.

Every writer of synced rows (sync push, the REST API, assistant messages, conflict
resolutions, imports) goes through an adapter and `core.versioning`, so validation, encryption
and versioning are the same whichever door a change comes in by. Data apps register their
adapters from AppConfig.ready(); sync looks them up by entity name and knows no model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.utils.dateparse import parse_datetime

from core.crypto.fields import (
    seal,
    seal_json,
    unseal,
    unseal_json,
    unseal_json_many,
    unseal_many,
)
from core.versioning import SyncedModel


class FieldError(Exception):
    """A field a client sent is unacceptable. `code` is one of the sync rejection codes
    (`invalid`, `unknown_field`, `not_found`, ...)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# --- field validators: each returns the clean value or raises FieldError ----------------------


def text(max_length: int, *, min_length: int = 0, nullable: bool = False) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise FieldError("invalid", f"{field} must be a string.", field)
        if not min_length <= len(value) <= max_length:
            raise FieldError(
                "invalid", f"{field} must be {min_length} to {max_length} characters.", field
            )
        if "\x00" in value:
            raise FieldError("invalid", f"{field} must not contain NUL characters.", field)
        return value

    return check


def integer(
    *, min_value: int | None = None, max_value: int | None = None, nullable: bool = True
) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("invalid", f"{field} must be an integer.", field)
        if (min_value is not None and value < min_value) or (
            max_value is not None and value > max_value
        ):
            raise FieldError("invalid", f"{field} is out of range.", field)
        return value

    return check


def boolean(*, nullable: bool = False) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            raise FieldError("invalid", f"{field} must be true or false.", field)
        return value

    return check


def uuid_ref(*, nullable: bool = True) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        try:
            return uuid.UUID(str(value))
        except (ValueError, TypeError, AttributeError):
            raise FieldError("invalid", f"{field} must be a UUID.", field) from None

    return check


def timestamp(*, nullable: bool = True) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise FieldError("invalid", f"{field} must be an RFC 3339 time with a zone.", field)
        return parsed

    return check


def string_list(*, max_items: int = 50, max_length: int = 64) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > max_items:
            raise FieldError("invalid", f"{field} must be a list of at most {max_items}.", field)
        for item in value:
            if not isinstance(item, str) or not 0 < len(item) <= max_length:
                raise FieldError(
                    "invalid",
                    f"{field} items must be strings of 1 to {max_length} characters.",
                    field,
                )
        return list(value)

    return check


def json_object(*, nullable: bool = True, max_bytes: int = 1_000_000) -> Any:
    def check(field: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, dict):
            raise FieldError("invalid", f"{field} must be an object.", field)
        _check_size(field, value, max_bytes)
        return value

    return check


def json_list(*, max_bytes: int = 5_000_000) -> Any:
    def check(field: str, value: Any) -> Any:
        if not isinstance(value, list):
            raise FieldError("invalid", f"{field} must be a list.", field)
        _check_size(field, value, max_bytes)
        return value

    return check


def choice(options: Iterable[str]) -> Any:
    allowed = tuple(options)

    def check(field: str, value: Any) -> Any:
        if value not in allowed:
            raise FieldError("invalid", f"{field} must be one of {', '.join(allowed)}.", field)
        return value

    return check


def _check_size(field: str, value: Any, max_bytes: int) -> None:
    import json

    if len(json.dumps(value, separators=(",", ":"))) > max_bytes:
        raise FieldError("invalid", f"{field} is larger than {max_bytes} bytes.", field)


# --- adapters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Encrypted:
    """A wire field stored encrypted in `<name>_encrypted`; JSON values when `json` is set.

    `legacy_column` names the text column that held the field in plaintext before it was
    encrypted (chat titles), while the backfill that encrypts old rows has not reached every
    row: a non-empty value there is read as the field's value (it is either a row not yet
    encrypted or a write by a previous release during a rolling deploy, and so the newest), and
    every write of the field, and every tombstone, empties it."""

    json: bool = False
    legacy_column: str = ""


class EntityAdapter:
    """Describes one synced entity. Subclasses set the class attributes; most need no code."""

    entity: ClassVar[str]
    model: ClassVar[type[SyncedModel]]
    # wire field -> validator
    validators: ClassVar[Mapping[str, Any]]
    encrypted: ClassVar[Mapping[str, Encrypted]] = {}
    required_on_create: ClassVar[tuple[str, ...]] = ()
    # Rows visible to their author only (bound by row-level security on author_id).
    private: ClassVar[bool] = False
    append_only: ClassVar[bool] = False
    # Fields merged as one unit: any concurrent change to one of them conflicts with a change
    # to any other (connection secrets).
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields referencing other entities: field -> entity; must exist and be visible.
    references: ClassVar[Mapping[str, str]] = {}
    # Who may write: "member" (member and up) or "author" (private rows, their author).
    writers: ClassVar[str] = "member"
    # Rows that die with this one: child entity -> its field naming this row. Deleting a row,
    # by any door (REST, sync, imports), tombstones its live children (a chat's messages).
    cascade_deletes: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(cls.validators)

    @classmethod
    def validate(cls, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        unknown = [name for name in fields if name not in cls.validators]
        if unknown:
            raise FieldError("unknown_field", f"Unknown field: {unknown[0]}.", unknown[0])
        clean = {name: cls.validators[name](name, value) for name, value in fields.items()}
        if creating:
            for name in cls.required_on_create:
                if clean.get(name) in (None, ""):
                    raise FieldError("invalid", f"{name} is required.", name)
        else:
            for name in cls.required_on_create:
                if name in clean and clean[name] in (None, ""):
                    raise FieldError("invalid", f"{name} cannot be empty.", name)
        return clean

    @classmethod
    def new_row(cls, *, workspace_id: uuid.UUID, user: Any, row_id: uuid.UUID) -> SyncedModel:
        row = cls.model(id=row_id)
        row.workspace_id = workspace_id
        for attname in ("created_by_id", "author_id"):
            if hasattr(row, attname):
                setattr(row, attname, getattr(user, "pk", None))
        return row

    @classmethod
    def apply(cls, row: SyncedModel, fields: Mapping[str, Any]) -> None:
        """Set validated wire fields on the row, encrypting where the entity says so."""
        for name, value in fields.items():
            spec = cls.encrypted.get(name)
            if spec is None:
                setattr(row, name, value)
                continue
            if spec.json:
                seal_json(row, f"{name}_encrypted", value)
            else:
                seal(row, f"{name}_encrypted", value)
            if spec.legacy_column:
                setattr(row, spec.legacy_column, "")

    @classmethod
    def legacy_columns(cls) -> list[str]:
        """The plaintext columns of encrypted fields still being migrated (Encrypted.
        legacy_column): emptied with the encrypted ones by a tombstone."""
        return [spec.legacy_column for spec in cls.encrypted.values() if spec.legacy_column]

    @classmethod
    def read(cls, row: SyncedModel, name: str) -> Any:
        spec = cls.encrypted.get(name)
        if spec is None:
            return getattr(row, name)
        if spec.legacy_column:
            legacy = getattr(row, spec.legacy_column)
            if legacy or getattr(row, f"{name}_encrypted") is None:
                return legacy
        if spec.json:
            return unseal_json(row, f"{name}_encrypted")
        return unseal(row, f"{name}_encrypted")

    @classmethod
    def read_many(cls, rows: Sequence[SyncedModel], name: str) -> list[Any]:
        """read() of one field for many rows (a page): encrypted fields are decrypted as a
        batch (core.crypto.fields.unseal_many), with the same result row by row."""
        spec = cls.encrypted.get(name)
        if spec is None:
            return [getattr(row, name) for row in rows]
        unseal_page = unseal_json_many if spec.json else unseal_many
        if not spec.legacy_column:
            return unseal_page(rows, f"{name}_encrypted")
        out = [getattr(row, spec.legacy_column) for row in rows]
        sealed = [
            index
            for index, row in enumerate(rows)
            if not out[index] and getattr(row, f"{name}_encrypted") is not None
        ]
        for index, value in zip(
            sealed, unseal_page([rows[i] for i in sealed], f"{name}_encrypted"), strict=True
        ):
            out[index] = value
        return out

    @classmethod
    def serialize(cls, row: SyncedModel, *, include_secrets: bool = True) -> dict[str, Any]:
        """The row as it travels on the wire (`data` of a pull)."""
        data: dict[str, Any] = {
            "id": str(row.id),
            "version": row.version,
            "created_at": _rfc3339(row.created_at),
            "updated_at": _rfc3339(row.updated_at),
            "deleted": row.deleted,
        }
        for name in cls.fields():
            if name in cls.secret_fields and not include_secrets:
                continue
            data[name] = _wire(cls.read(row, name))
        return data

    @classmethod
    def serialize_many(
        cls, rows: Iterable[SyncedModel], *, include_secrets: bool = True
    ) -> list[dict[str, Any]]:
        """serialize() of each row, equal to it row by row; the encrypted fields of the whole
        page are decrypted column by column (read_many) rather than value by value."""
        rows = list(rows)
        names = [name for name in cls.fields() if include_secrets or name not in cls.secret_fields]
        decrypted = {name: cls.read_many(rows, name) for name in names if name in cls.encrypted}
        out = []
        for index, row in enumerate(rows):
            data: dict[str, Any] = {
                "id": str(row.id),
                "version": row.version,
                "created_at": _rfc3339(row.created_at),
                "updated_at": _rfc3339(row.updated_at),
                "deleted": row.deleted,
            }
            for name in names:
                page = decrypted.get(name)
                data[name] = _wire(getattr(row, name) if page is None else page[index])
            out.append(data)
        return out


def _rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _wire(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return _rfc3339(value)
    return value


_registry: dict[str, type[EntityAdapter]] = {}


def register(adapter: type[EntityAdapter]) -> type[EntityAdapter]:
    existing = _registry.get(adapter.entity)
    if existing is not None and existing is not adapter:
        raise ValueError(f"entity {adapter.entity!r} registered twice")
    _registry[adapter.entity] = adapter
    return adapter


def adapter_for(entity: str) -> type[EntityAdapter] | None:
    return _registry.get(entity)


def adapters() -> dict[str, type[EntityAdapter]]:
    return dict(_registry)


def secret_field_names() -> frozenset[str]:
    """The secret fields of every registered entity (a connection's password, keys, ...). The
    doors that never carry a secret for anyone (Sentry events) filter these names wherever they
    appear; who may receive them elsewhere is workspaces.secrets' rule."""
    names: set[str] = set()
    for adapter in _registry.values():
        names |= adapter.secret_fields
    return frozenset(names)
