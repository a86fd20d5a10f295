from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import key_rotation
from core.key_rotation import DATA_KEY_RETIRED, key_event
from core.tenancy.system import system_context


class Command(BaseCommand):
    help = (
        "Retire data key version N of a workspace: it stops being loaded, so anything still "
        "encrypted under it (old backups) can no longer be read. Refused while it is the "
        "primary, while any stored value uses it, or within the key cache TTL of its rotation."
    )

    def add_base_argument(self, parser: Any, *args: Any, **kwargs: Any) -> None:
        if "--version" in args:
            return  # here --version is the data key version, not Django's
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workspace", type=uuid.UUID, required=True)
        parser.add_argument("--version", type=int, required=True, dest="key_version")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace_id = options["workspace"]
        version = options["key_version"]
        try:
            key_rotation.retire_workspace_data_key(workspace_id, version)
        except key_rotation.KeyInUse as error:
            raise CommandError(f"Data key v{version} cannot be retired: {error}.") from None
        with system_context(workspace_id=workspace_id):
            key_event(
                DATA_KEY_RETIRED,
                workspace_id=workspace_id,
                command="retire_data_key",
                metadata={"version": version},
            )
        self.stdout.write(f"{workspace_id}: data key v{version} retired.")
