"""core.audit: core's audit events reach the audit log through the recorder the workspaces app
registers; with none registered, recording fails loudly instead of dropping the event."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import audit
from workspaces.audit import audit_record


def test_the_workspaces_audit_log_is_registered() -> None:
    assert audit._recorder is audit_record


def test_record_without_a_recorder_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_recorder", None)
    with pytest.raises(ImproperlyConfigured, match="No audit recorder"):
        audit.record(action="crypto.test", workspace_id=None)


def test_record_forwards_to_the_recorder(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def recorder(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(audit, "_recorder", None)
    assert audit.register_recorder(recorder) is recorder
    audit.register_recorder(recorder)  # the same one again: a no-op
    with pytest.raises(ValueError, match="already registered"):
        audit.register_recorder(audit_record)
    audit.record(action="crypto.test", workspace_id=None, target_type="encryption_key")
    assert calls == [
        {
            "action": "crypto.test",
            "workspace_id": None,
            "target_type": "encryption_key",
            "target_id": "",
            "metadata": None,
        }
    ]
