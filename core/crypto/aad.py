"""Associated data: what a ciphertext is bound to.

A value is bound to (workspace, table, column, row). The canonical encoding is a fixed domain
label followed by each field as a 4-byte big-endian length and its UTF-8 text, in that order, so
no two different tuples encode to the same bytes ("ab","c" vs "a","bc").

Ids are compared by their canonical text: an int is its decimal form, a UUID its lowercase
hyphenated form, a str is taken verbatim. So `5` and `"5"`, or a UUID and `str(uuid)`, name the
same row, while `"ABC..."` and `"abc..."` do not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeAlias

Id: TypeAlias = int | str | uuid.UUID

_VALUE_DOMAIN = b"dbw.aad.value.v1\x00"
_DATA_KEY_DOMAIN = b"dbw.aad.data-key.v1\x00"


def canonical_id(value: Id, field: str = "id") -> str:
    """The text an id is bound by. Raises TypeError/ValueError on None, bool or empty text: an
    unsaved row has no id yet, and encrypting it against a placeholder would be a silent bug."""
    if type(value) is uuid.UUID:  # the common case (row and workspace ids), checked first
        return str(value)
    if isinstance(value, bool):
        raise TypeError(f"{field} must be an int, str or UUID, not bool")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not value:
            raise ValueError(f"{field} must not be empty")
        return value
    raise TypeError(f"{field} must be an int, str or UUID, not {type(value).__name__}")


def frame(*parts: str | bytes) -> bytes:
    """Length-prefixed concatenation (4-byte big-endian length, then the bytes)."""
    out = bytearray()
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        out += len(raw).to_bytes(4, "big")
        out += raw
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Aad:
    """Where an encrypted value lives. Use stable logical names for `table` and `column` (for
    example "connections.connection" / "password"): renaming either makes every stored value
    undecryptable until it is re-encrypted under the new name."""

    workspace_id: Id
    table: str
    column: str
    row_id: Id

    def __post_init__(self) -> None:
        canonical_id(self.workspace_id, "workspace_id")
        canonical_id(self.row_id, "row_id")
        for name in ("table", "column"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"Aad.{name} must be a non-empty str")

    @property
    def workspace_key(self) -> str:
        return canonical_id(self.workspace_id, "workspace_id")

    def encode(self) -> bytes:
        return _VALUE_DOMAIN + frame(
            canonical_id(self.workspace_id),
            self.table,
            self.column,
            canonical_id(self.row_id),
        )


class ColumnAad:
    """The (workspace, table, column) part of an Aad, encoded once: `encode(row_id)` equals
    `Aad(workspace_id, table, column, row_id).encode()` (the row id is the last field of the
    canonical encoding), so decrypting a page of one column encodes only the row ids."""

    __slots__ = ("_prefix", "column", "table", "workspace_id", "workspace_key")

    def __init__(self, workspace_id: Id, table: str, column: str) -> None:
        self.workspace_key = canonical_id(workspace_id, "workspace_id")
        for name, value in (("table", table), ("column", column)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"Aad.{name} must be a non-empty str")
        self.workspace_id = workspace_id
        self.table = table
        self.column = column
        self._prefix = _VALUE_DOMAIN + frame(self.workspace_key, table, column)

    def encode(self, row_id: Id) -> bytes:
        raw = canonical_id(row_id, "row_id").encode("utf-8")
        return self._prefix + len(raw).to_bytes(4, "big") + raw

    def aad(self, row_id: Id) -> Aad:
        return Aad(self.workspace_id, self.table, self.column, row_id)

    def __repr__(self) -> str:
        return f"ColumnAad({self.workspace_key!r}, {self.table!r}, {self.column!r})"


def data_key_aad(workspace_id: Id, version: int) -> bytes:
    """Associated data of a wrapped data key: a wrapped DEK copied to another workspace or
    relabelled as another version does not unwrap."""
    if not 1 <= version <= 0xFFFFFFFF:
        raise ValueError("data key version must be in 1..2**32-1")
    return (
        _DATA_KEY_DOMAIN
        + frame(canonical_id(workspace_id, "workspace_id"))
        + version.to_bytes(4, "big")
    )
