from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import key_rotation
from core.key_rotation import DATA_KEY_ROTATED, key_event
from core.tenancy.system import system_context


class Command(BaseCommand):
    help = (
        "Give a workspace (or every workspace) a new primary data key, then re-encrypt its "
        "encrypted columns in short batches while the service runs. Row versions do not change. "
        "--resume re-encrypts onto the current primary without making a new key (after an "
        "interrupted run, or once the key cache TTL has passed)."
    )

    def add_arguments(self, parser: Any) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--workspace", type=uuid.UUID, help="The workspace's id.")
        target.add_argument("--all", action="store_true", help="Every workspace.")
        parser.add_argument("--resume", action="store_true", help="Do not make a new key.")
        parser.add_argument("--batch-size", type=int, default=key_rotation.REENCRYPT_BATCH)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["all"]:
            workspaces = key_rotation.workspaces_with_keys()
        else:
            workspaces = [options["workspace"]]
            if workspaces[0] not in key_rotation.workspaces_with_keys():
                raise CommandError(f"Workspace {workspaces[0]} has no data keys.")
        leftovers = 0
        for workspace_id in workspaces:
            version = None
            if not options["resume"]:
                version = key_rotation.new_data_key(workspace_id)
            report = key_rotation.reencrypt_workspace(
                workspace_id, batch_size=options["batch_size"]
            )
            with system_context(workspace_id=workspace_id):
                key_event(
                    DATA_KEY_ROTATED,
                    workspace_id=workspace_id,
                    command="rotate_data_key",
                    metadata={
                        "version": report.primary,
                        "new_key": version is not None,
                        "reencrypted": report.reencrypted,
                        "remaining": {str(k): v for k, v in report.remaining.items()},
                    },
                )
            leftovers += sum(report.remaining.values())
            self.stdout.write(
                f"{workspace_id}: primary data key v{report.primary}; re-encrypted "
                f"{report.reencrypted} values ({report.already_current} already current) in "
                f"{report.batches} batches; on older versions: "
                + (", ".join(f"v{k}={v}" for k, v in sorted(report.remaining.items())) or "none")
            )
        if leftovers:
            self.stdout.write(
                "Some values are still on older versions (written by processes whose key cache "
                "had not expired yet). After ENCRYPTION_KEY_CACHE_TTL_SECONDS, run again with "
                "--resume."
            )
