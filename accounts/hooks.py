"""Registries through which other apps take part in account deletion and data export.

accounts never imports them; they register from their AppConfig.ready():

    from accounts.hooks import DeletionBlocker, register_deletion_check, register_export_section

    def _sole_owner(user):
        names = ...  # shared workspaces this user alone owns
        if names:
            return DeletionBlocker(
                code="sole_owner_of_shared_workspace",
                message=f"You are the only owner of {', '.join(names)}. Transfer ownership first.",
                data={"workspaces": names},
            )
        return None

    register_deletion_check(_sole_owner)
    register_export_section("workspaces", lambda user: [...])   # JSON-serialisable
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeletionBlocker:
    """Why an account cannot be deleted yet. `message` is shown to the user as is."""

    code: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


DeletionCheck = Callable[[Any], DeletionBlocker | None]
ExportSection = Callable[[Any], Any]

_deletion_checks: list[DeletionCheck] = []
_export_sections: dict[str, ExportSection] = {}

_RESERVED_SECTIONS = frozenset(
    {"exported_at", "user", "email_addresses", "social_accounts", "mfa", "sessions", "devices"}
)


def register_deletion_check(check: DeletionCheck) -> DeletionCheck:
    """Register `check(user) -> DeletionBlocker | None`; any blocker vetoes the deletion."""
    if check not in _deletion_checks:
        _deletion_checks.append(check)
    return check


def register_export_section(name: str, export: ExportSection) -> ExportSection:
    """Register `export(user) -> JSON-serialisable data`, exported under `name`."""
    if name in _RESERVED_SECTIONS:
        raise ValueError(f"Export section name {name!r} is reserved by accounts.")
    existing = _export_sections.get(name)
    if existing is not None and existing is not export:
        raise ValueError(f"Export section {name!r} is already registered.")
    _export_sections[name] = export
    return export


def deletion_blockers(user: Any) -> list[DeletionBlocker]:
    blockers = []
    for check in list(_deletion_checks):
        blocker = check(user)
        if blocker is not None:
            blockers.append(blocker)
    return blockers


def export_sections(user: Any) -> dict[str, Any]:
    return {name: export(user) for name, export in sorted(_export_sections.items())}


def unregister_deletion_check(check: DeletionCheck) -> None:
    """For tests."""
    if check in _deletion_checks:
        _deletion_checks.remove(check)


def unregister_export_section(name: str) -> None:
    """For tests."""
    _export_sections.pop(name, None)
