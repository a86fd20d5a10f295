"""Encrypted columns of models: the ciphertext lives in a text column, encryption happens in
services through `seal` / `unseal`, bound to (workspace, model, column, row id).

    class Connection(SyncedModel):
        password_encrypted = EncryptedField()

    seal(connection, "password_encrypted", "s3cret")      # sets the ciphertext
    unseal(connection, "password_encrypted")              # -> "s3cret"

The associated data names the column by its logical name (the field name without the
`_encrypted` suffix) and the model by its label, so a value copied to another row, column or
workspace fails to decrypt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import models

from core.crypto.aad import Aad, ColumnAad, canonical_id

SUFFIX = "_encrypted"


class EncryptedField(models.TextField[str | None, str | None]):
    """A text column holding a versioned ciphertext token (never plaintext)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


def aad_for(instance: models.Model, field_name: str) -> Aad:
    column = field_name.removesuffix(SUFFIX)
    return Aad(
        workspace_id=instance.workspace_id,  # type: ignore[attr-defined]  # sealed rows are synced models
        table=instance._meta.label_lower,
        column=column,
        row_id=instance.id,  # type: ignore[attr-defined]  # a synced model's UUID
    )


def seal(instance: models.Model, field_name: str, plaintext: str | None) -> None:
    from core.crypto.store import keyring

    value = (
        None
        if plaintext is None
        else keyring().encrypt_text(plaintext, aad_for(instance, field_name))
    )
    setattr(instance, field_name, value)


def unseal(instance: models.Model, field_name: str) -> str | None:
    from core.crypto.store import keyring

    token = getattr(instance, field_name)
    if token is None:
        return None
    return keyring().decrypt_text(token, aad_for(instance, field_name))


def unseal_many(instances: Sequence[models.Model], field_name: str) -> list[str | None]:
    """unseal() of one field for many rows of one model (a page of a list), in order: the
    keyset is looked up and the (workspace, table, column) associated data is encoded once per
    workspace, each value still bound to its own row id and checked as unseal() does."""
    if not instances:
        return []
    model = type(instances[0])
    table, column = model._meta.label_lower, field_name.removesuffix(SUFFIX)
    groups: dict[str, list[int]] = {}  # workspace -> indexes (a page is one workspace)
    for index, instance in enumerate(instances):
        if type(instance) is not model:
            raise TypeError("unseal_many takes rows of one model")
        workspace = canonical_id(instance.workspace_id, "workspace_id")  # type: ignore[attr-defined]  # a synced model
        groups.setdefault(workspace, []).append(index)
    if len(groups) == 1:
        (workspace,) = groups
        return _unseal_page(instances, field_name, ColumnAad(workspace, table, column))
    out: list[str | None] = [None] * len(instances)
    for workspace, indexes in groups.items():
        rows = [instances[i] for i in indexes]
        texts = _unseal_page(rows, field_name, ColumnAad(workspace, table, column))
        for index, text in zip(indexes, texts, strict=True):
            out[index] = text
    return out


def _unseal_page(
    instances: Sequence[models.Model], field_name: str, column: ColumnAad
) -> list[str | None]:
    from core.crypto.store import keyring

    items = [(row.id, getattr(row, field_name)) for row in instances]  # type: ignore[attr-defined]  # synced models
    return keyring().decrypt_texts(column, items)


def unseal_json_many(instances: Sequence[models.Model], field_name: str) -> list[Any]:
    return [
        None if text is None else json.loads(text) for text in unseal_many(instances, field_name)
    ]


def seal_json(instance: models.Model, field_name: str, value: Any) -> None:
    seal(instance, field_name, None if value is None else json.dumps(value, separators=(",", ":")))


def unseal_json(instance: models.Model, field_name: str) -> Any:
    text = unseal(instance, field_name)
    return None if text is None else json.loads(text)


def encrypted_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
