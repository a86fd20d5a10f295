"""New synced rows, built and inserted without the ORM's per-value work: the fast end of the
shared entity-write path (`core.entity_writes`), used by sync pushes, imports and every create.

`QuerySet.bulk_create` prepares every value of every row through the field's
`get_db_prep_save` (about 20 calls per row) and psycopg then quotes each of them; for a push of
1,000 creates that was a third of the request. Here each column travels as one array literal,
`INSERT INTO t (...) SELECT * FROM unnest(%s::uuid[], %s::text[], ...)`: one parameter per
column instead of one per value, and PostgreSQL reads each element with the type's own input
function, as it would a literal. It goes through the Django connection's cursor, so the
transaction, row-level security context and triggers are the same (`core_sync_guard` still
checks every row's version). (COPY would be cheaper still, but PostgreSQL refuses COPY FROM
into tables with row-level security.)

Only plain column types are sent this way (text, integers, booleans, UUIDs, datetimes, JSON
without a custom encoder; a value of an unexpected Python type goes through Django's own
preparation first); a model with any other column type, or a column computed on save
(auto_now), goes through `bulk_create`.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.models import signals
from django.db.models.base import ModelState

from core.entities import EntityAdapter
from core.versioning import SyncedModel

# Rows per statement (a push has at most 1,000 rows).
MAX_ROWS = 1_000

Element = Callable[[Any], str]


def _quoted(text: str) -> str:
    """An array element holding `text` exactly: double-quoted, backslash and quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text_element(value: Any) -> str:
    if value is None:
        return "NULL"
    return _quoted(value if isinstance(value, str) else str(value))


def _uuid_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, uuid.UUID):
        return str(value)  # hex digits and dashes: nothing to quote
    return _quoted(str(value))


def _json_element(value: Any) -> str:
    # Django stores None in a JSON column as SQL NULL (not JSON null).
    return "NULL" if value is None else _quoted(json.dumps(value))


def _prepared(field: models.Field[Any, Any], then: Element) -> Element:
    """For values not of the column's usual Python type: Django's preparation first."""

    def element(value: Any) -> str:
        return then(field.get_db_prep_save(value, connection))

    return element


def _int_element(field: models.Field[Any, Any]) -> Element:
    prepared = _prepared(field, lambda value: "NULL" if value is None else str(int(value)))

    def element(value: Any) -> str:
        if value is None:
            return "NULL"
        if type(value) is int:
            return str(value)
        return prepared(value)

    return element


def _bool_element(field: models.Field[Any, Any]) -> Element:
    prepared = _prepared(field, lambda value: "NULL" if value is None else ("t" if value else "f"))

    def element(value: Any) -> str:
        if value is True:
            return "t"
        if value is False:
            return "f"
        if value is None:
            return "NULL"
        return prepared(value)

    return element


def _datetime_element(field: models.Field[Any, Any]) -> Element:
    prepared = _prepared(field, lambda value: "NULL" if value is None else value.isoformat())

    def element(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, datetime) and value.utcoffset() is not None:  # aware
            return value.isoformat()  # digits, -, :, +, . and T: nothing to quote
        return prepared(value)  # what Django would send (made aware)

    return element


_INTEGERS = frozenset(
    {
        "BigIntegerField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
    }
)


def _column(field: models.Field[Any, Any]) -> tuple[str, Element] | None:
    """(array type, element encoder) of a column; None when not supported here. Arrays are
    of the base type (text, bigint): the INSERT's assignment to the column checks lengths and
    ranges as for any INSERT (an explicit cast to varchar(n) would truncate instead)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = target.get_internal_type()
    if kind in ("CharField", "TextField"):
        return "text[]", _text_element
    if kind in _INTEGERS:
        return "bigint[]", _int_element(field)
    if kind == "BooleanField":
        return "boolean[]", _bool_element(field)
    if kind == "UUIDField":
        return "uuid[]", _uuid_element
    if kind == "DateTimeField":
        return "timestamptz[]", _datetime_element(field)
    if isinstance(target, models.JSONField) and target.encoder is None:
        return "jsonb[]", _json_element
    return None


@functools.cache
def _plan(model: type[models.Model]) -> tuple[str, list[tuple[str, Element]]] | None:
    """(INSERT statement, [(attname, element encoder)]) for every concrete column but the
    auto-incremented surrogate key; None when a column is not supported here."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField)]
    columns: list[tuple[str, Element]] = []
    casts: list[str] = []
    names: list[str] = []
    for field in fields:
        column = _column(field)
        if column is None or field.column is None:
            return None
        casts.append(f"%s::{column[0]}")
        names.append(connection.ops.quote_name(field.column))
        columns.append((field.attname, column[1]))
    pk = meta.pk
    if pk is None or pk.column is None:
        return None
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({', '.join(names)}) "  # noqa: S608 - names from the model
        f"SELECT * FROM unnest({', '.join(casts)}) "
        f"RETURNING {connection.ops.quote_name(pk.column)}, id"
    )
    return sql, columns


def _array(element: Element, values: list[Any]) -> str:
    """The array literal of one column. Rows often share a value (the workspace, the author,
    None, False): a value that is the same object as the previous one reuses its encoding."""
    parts: list[str] = []
    append = parts.append
    last: Any = _NOTHING
    text = ""
    for value in values:
        if value is not last:
            last, text = value, element(value)
        append(text)
    return "{" + ",".join(parts) + "}"


_NOTHING = object()


def insert_rows(model: type[SyncedModel], rows: Sequence[SyncedModel]) -> None:
    """INSERT `rows` (new instances of one synced model, distinct `id`s) and mark them saved,
    with their surrogate primary keys set, as `bulk_create` does. Raises IntegrityError like
    `bulk_create` (the caller's savepoint decides what survives)."""
    if not rows:
        return
    plan = _plan(model)
    if plan is None:
        model._default_manager.bulk_create(rows)
        return
    sql, columns = plan
    pk_attname = model._meta.pk.attname if model._meta.pk is not None else "pk"
    alias = connection.alias
    with connection.cursor() as cursor:
        for start in range(0, len(rows), MAX_ROWS):
            batch = rows[start : start + MAX_ROWS]
            states = [row.__dict__ for row in batch]
            arrays = [
                _array(element, [state[attname] for state in states])
                for attname, element in columns
            ]
            cursor.execute(sql, arrays)
            # Matched by the client id (unique per workspace), not by the order of RETURNING.
            keys: dict[uuid.UUID, Any] = {row_id: pk for pk, row_id in cursor.fetchall()}
            for row in batch:
                setattr(row, pk_attname, keys[row.id])
                row._state.adding = False
                row._state.db = alias


def existing_ids(
    model: type[SyncedModel], workspace_id: Any, ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    """Which of `ids` name a row of `model` in the workspace that this transaction can see
    (row-level security applies as to any query): one index scan, the ids sent as one
    array literal instead of a placeholder each."""
    literal = "{" + ",".join(str(row_id) for row_id in ids) + "}"
    if literal == "{}":
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE workspace_id = %s AND id = ANY(%s::uuid[])",  # noqa: S608 - table from the model
            [workspace_id, literal],
        )
        return [row_id for (row_id,) in cursor.fetchall()]


@functools.cache
def _defaults(
    model: type[models.Model],
) -> tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]] | None:
    """What `Model.__init__` sets on a new instance, split into values that are the same for
    every instance (no default: None or "", or a non-callable default, which Django also
    shares between instances) and producers to call each time (callable defaults), the id's
    excepted. None when `Model.__init__` does more than set them (private fields, a foreign
    key whose default could be a model instance)."""
    meta = model._meta
    if meta.private_fields:
        return None
    constants: dict[str, Any] = {}
    producers: list[tuple[str, Callable[[], Any]]] = []
    for field in meta.concrete_fields:
        if isinstance(field, models.ForeignKey) and field.has_default():
            return None
        if field.attname == "id":
            continue
        if field.has_default() and callable(field.default):
            producers.append((field.attname, field.default))
        else:
            constants[field.attname] = field.get_default()
    return constants, producers


def new_row(
    adapter: type[EntityAdapter], *, workspace_id: uuid.UUID, user: Any, row_id: uuid.UUID
) -> SyncedModel:
    """`adapter.new_row(...)` without `Model.__init__`'s per-field keyword handling: the same
    attribute values (every field's default, the id, workspace and author), set at once."""
    model = adapter.model
    defaults = _defaults(model)
    if (
        defaults is None
        or getattr(adapter.new_row, "__func__", None) is not _BASE_NEW_ROW
        or signals.pre_init.has_listeners(model)
        or signals.post_init.has_listeners(model)
    ):
        return adapter.new_row(workspace_id=workspace_id, user=user, row_id=row_id)
    constants, producers = defaults
    row = model.__new__(model)
    values = row.__dict__
    values.update(constants)
    for attname, produce in producers:
        values[attname] = produce()
    values["id"] = row_id
    values["workspace_id"] = workspace_id
    for attname in ("created_by_id", "author_id"):
        if attname in values:
            values[attname] = getattr(user, "pk", None)
    row._state = ModelState()
    return row


_BASE_NEW_ROW = EntityAdapter.new_row.__func__  # type: ignore[attr-defined]  # bound classmethod: has __func__
