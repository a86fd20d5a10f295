from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import key_rotation
from core.key_rotation import MASTER_KEY_RETIRED, key_event
from core.tenancy.system import system_context


class Command(BaseCommand):
    help = (
        "Check that master key ID can be removed from ENCRYPTION_KEYS, and record that it is "
        "retired. Refused while ID is the primary or any data key (retired ones included) is "
        "still wrapped under it; run rotate_master_key first."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key_id", help="The master key id (as in ENCRYPTION_KEYS).")

    def handle(self, *args: Any, **options: Any) -> None:
        key_id = options["key_id"]
        blockers = key_rotation.master_key_retire_blockers(key_id)
        if blockers:
            raise CommandError(f"Master key {key_id!r} cannot be retired: " + "; ".join(blockers))
        with system_context():
            key_event(
                MASTER_KEY_RETIRED,
                workspace_id=None,
                command="retire_master_key",
                metadata={"primary": key_id},
            )
        self.stdout.write(
            f"Master key {key_id!r} wraps no data key and is not the primary: remove it from "
            "ENCRYPTION_KEYS and deploy."
        )
