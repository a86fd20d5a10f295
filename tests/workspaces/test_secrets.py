"""The one rule for secrets (workspaces/secrets.py) and its table in docs/permissions.md.

The doors themselves are proven through HTTP elsewhere: sync pull, conflicts, push and resolve
in tests/sync/test_secrets.py, the ledger and secret-holders in
tests/sync/test_secret_deliveries.py, reveal and export in tests/connections and
tests/portability, events in tests/sync/test_events.py, the assistant in
tests/ai/test_secrets.py, Sentry in tests/core/test_sentry.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from workspaces.models import Role
from workspaces.secrets import (
    RULES,
    TABLE_ROWS,
    Channel,
    Principal,
    Record,
    may_receive_secrets,
    may_send_secrets_from_device,
    require_secrets,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Workspace:
    sync_secrets: bool


ON, OFF = Workspace(sync_secrets=True), Workspace(sync_secrets=False)


def test_the_docs_table_is_the_rule() -> None:
    from workspaces.secrets import table_markdown

    text = (ROOT / "docs" / "permissions.md").read_text()
    assert "## Secrets by role" in text
    assert table_markdown() in text, "docs/permissions.md disagrees with workspaces.secrets"


def test_every_channel_has_a_rule_and_a_row_in_the_table() -> None:
    assert set(RULES) == set(Channel)
    assert {channel for _, channel, _ in TABLE_ROWS} == set(Channel)


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("workspace", [ON, OFF, None])
def test_viewers_and_nobody_never_receive_a_secret(channel: Channel, workspace: object) -> None:
    assert not may_receive_secrets(Principal(role=Role.VIEWER), channel, workspace=workspace)
    assert not may_receive_secrets(Principal(role=None), channel, workspace=workspace)
    assert not may_receive_secrets(None, channel, workspace=workspace)


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MEMBER])
def test_members_and_up_receive_secrets_only_by_recorded_doors(role: str) -> None:
    member = Principal(role=role)
    open_doors = {c for c in Channel if may_receive_secrets(member, c, workspace=ON)}
    assert open_doors == {Channel.REVEAL, Channel.EXPORT, Channel.SYNC_PULL}
    assert all(RULES[channel].record != Record.NONE for channel in open_doors)
    assert RULES[Channel.SYNC_PULL].record == Record.LEDGER
    # Devices only while the workspace syncs secrets; the audited REST doors regardless.
    assert not may_receive_secrets(member, Channel.SYNC_PULL, workspace=OFF)
    assert not may_receive_secrets(member, Channel.SYNC_PULL)
    assert may_receive_secrets(member, Channel.REVEAL, workspace=OFF)


def test_require_names_the_refusal() -> None:
    from core.exceptions import PermissionDenied

    require_secrets(Principal(role=Role.MEMBER), Channel.REVEAL, action="see them")
    with pytest.raises(PermissionDenied, match="Viewers cannot see them"):
        require_secrets(Principal(role=Role.VIEWER), Channel.REVEAL, action="see them")
    with pytest.raises(PermissionDenied, match=r"role \(owner\) cannot see them"):
        require_secrets(Principal(role=Role.OWNER), Channel.LOGS, action="see them")


def test_what_a_device_sends_is_kept_for_members_while_the_workspace_syncs_secrets() -> None:
    assert may_send_secrets_from_device(Principal(role=Role.MEMBER), workspace=ON)
    assert not may_send_secrets_from_device(Principal(role=Role.MEMBER), workspace=OFF)
    assert not may_send_secrets_from_device(Principal(role=Role.VIEWER), workspace=ON)
    assert not may_send_secrets_from_device(None, workspace=ON)


# Names through which code could read a connection's secrets.
SECRET_READERS = {"connection_secrets", "connection_reveal", "ConnectionEntity", "SECRET_FIELDS"}


def test_the_assistant_reads_nothing_of_a_connection_but_its_engine() -> None:
    """The assistant's prompts and context are a channel no secret takes: no module of ai/
    imports the connections app's models or anything that reads secrets."""
    found = []
    for path in sorted((ROOT / "ai").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("connections"):
                names = {alias.name for alias in node.names}
                if node.module in ("connections.models", "connections.entity") or (
                    names & SECRET_READERS
                ):
                    found.append(f"{path.relative_to(ROOT)}: from {node.module} import {names}")
                assert names <= {"connection_engine"}, f"{path}: review {names} for secrets"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("connections"):
                        found.append(f"{path.relative_to(ROOT)}: import {alias.name}")
    assert found == []
