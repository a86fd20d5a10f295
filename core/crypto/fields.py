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
from typing import Any

from django.db import models

from core.crypto.aad import Aad

SUFFIX = "_encrypted"


class EncryptedField(models.TextField):
    """A text column holding a versioned ciphertext token (never plaintext)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)


def aad_for(instance: models.Model, field_name: str) -> Aad:
    column = field_name.removesuffix(SUFFIX)
    return Aad(
        workspace_id=instance.workspace_id,  # type: ignore[attr-defined]
        table=instance._meta.label_lower,
        column=column,
        row_id=instance.id,  # type: ignore[attr-defined]
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


def seal_json(instance: models.Model, field_name: str, value: Any) -> None:
    seal(instance, field_name, None if value is None else json.dumps(value, separators=(",", ":")))


def unseal_json(instance: models.Model, field_name: str) -> Any:
    text = unseal(instance, field_name)
    return None if text is None else json.loads(text)


def encrypted_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
