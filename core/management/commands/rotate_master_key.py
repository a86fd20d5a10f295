from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import key_rotation
from core.key_rotation import DATA_KEYS_REWRAPPED, MASTER_KEY_ROTATED, key_event
from core.tenancy.system import system_context


class Command(BaseCommand):
    help = (
        "Re-wrap every workspace's data keys under the primary master key of ENCRYPTION_KEYS. "
        "No encrypted value is touched. Idempotent and resumable: keys already under the "
        "primary are skipped, and each workspace commits on its own."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Only report which master keys are in use."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        missing = key_rotation.unavailable_master_keys()
        if missing:
            raise CommandError(
                "Stored data keys use master keys this process does not have: "
                f"{', '.join(sorted(missing))}. Put them back into ENCRYPTION_KEYS first."
            )
        in_use = key_rotation.master_keys_in_use()
        self.stdout.write(f"data keys per master key: {_fmt(in_use)}")
        if options["check"]:
            return

        def audit(workspace_id: Any, info: dict[str, Any]) -> None:
            key_event(
                DATA_KEYS_REWRAPPED,
                workspace_id=workspace_id,
                command="rotate_master_key",
                metadata=info,
            )

        report = key_rotation.rewrap_all_data_keys(on_workspace=audit)
        with system_context():
            key_event(
                MASTER_KEY_ROTATED,
                workspace_id=None,
                command="rotate_master_key",
                metadata={
                    "primary": report.primary,
                    "rewrapped": report.rewrapped,
                    "workspaces": report.workspaces,
                    "before": report.before,
                    "after": report.after,
                },
            )
        self.stdout.write(
            f"re-wrapped {report.rewrapped} data keys of {report.workspaces} workspaces under "
            f"{report.primary!r}; now {_fmt(report.after)}"
        )


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"
