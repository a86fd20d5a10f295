"""A push's new rows: built and inserted without the ORM's per-value work.

`QuerySet.bulk_create` prepares every value of every row through the field's
`get_db_prep_save` (about 20 calls per row) and psycopg then quotes each of them; for a push of
1,000 creates that was a third of the request. Here the rows travel as one JSON document,
`INSERT INTO t (...) SELECT ... FROM json_populate_recordset(NULL::t, %s)`: PostgreSQL turns
each value into its column's type with the type's own input function, exactly as it would
parse a literal. It goes through the Django connection's cursor, so the transaction,
row-level security context and triggers are the same (`core_sync_guard` still checks every
row's version). (COPY would be cheaper still, but PostgreSQL refuses COPY FROM into tables
with row-level security.)

Only column types with an exact JSON form are sent this way (UUIDs and aware datetimes as
their text, JSON columns as JSON; a JSON null is SQL NULL, as Django stores None); a model with
any other column type, or with a column computed on save (auto_now), goes through
`bulk_create`.
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

# Rows per statement: bounds the size of one JSON document (a push has at most 1,000 rows).
MAX_ROWS = 1_000

# Column types whose Python value json.dumps writes in a form the column's input function
# reads back unchanged: strings, numbers, booleans and None.
_AS_IS = frozenset(
    {
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)

Convert = Callable[[Any], Any] | None


def _uuid_text(value: Any) -> Any:
    return None if value is None else str(value)


def _converter(field: models.Field[Any, Any]) -> Convert | bool:
    """None: the value goes as it is; a function: its JSON form; False: not supported."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = target.get_internal_type()
    if kind in _AS_IS:
        return None
    if kind == "UUIDField":
        return _uuid_text
    if kind == "DateTimeField":
        return functools.partial(_datetime_text, field)
    if isinstance(target, models.JSONField) and target.encoder is None:
        return None
    return False


def _datetime_text(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if not (isinstance(value, datetime) and value.tzinfo is not None):
        value = field.get_db_prep_save(value, connection)  # what Django would send (aware)
    return value.isoformat()


@functools.cache
def _plan(model: type[models.Model]) -> tuple[str, list[tuple[str, str, Convert]]] | None:
    """(INSERT statement, [(column, attname, converter)]) for every concrete column but the
    auto-incremented surrogate key; None when a column cannot be sent as JSON."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField)]
    columns: list[tuple[str, str, Convert]] = []
    for field in fields:
        convert = _converter(field)
        if convert is False:
            return None
        columns.append((field.column, field.attname, convert or None))
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(column) for column, _, _ in columns)
    pk = meta.pk
    if pk is None:
        return None
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608 - names from the model
        f"FROM json_populate_recordset(NULL::{table}, %s) RETURNING {quote(pk.column)}, id"
    )
    return sql, columns


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
    pk_attname = model._meta.pk.attname  # type: ignore[union-attr]  # every model has a pk
    dumps = json.dumps
    alias = connection.alias
    with connection.cursor() as cursor:
        for start in range(0, len(rows), MAX_ROWS):
            batch = rows[start : start + MAX_ROWS]
            documents = []
            for row in batch:
                values = row.__dict__
                document = {}
                for column, attname, convert in columns:
                    value = values[attname]
                    document[column] = value if convert is None else convert(value)
                documents.append(document)
            cursor.execute(sql, [dumps(documents)])
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


_BASE_NEW_ROW = EntityAdapter.new_row.__func__  # type: ignore[attr-defined]
