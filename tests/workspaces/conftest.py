from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory, add_member, make_workspace


@dataclass
class Team:
    workspace: Any
    owner: Any  # alice
    admin: Any  # adam
    member: Any  # bob
    viewer: Any  # vera
    outsider: Any  # charlie, owner of another workspace
    other_workspace: Any
    extra: Any = None  # mike, a second member some tests act on

    def user(self, role: str) -> Any:
        return getattr(self, role)

    def client(self, role: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(self.user(role))
        return client


@pytest.fixture
def team(db: None) -> Team:
    alice = UserFactory(email="alice@example.com")
    adam = UserFactory(email="adam@example.com")
    bob = UserFactory(email="bob@example.com")
    vera = UserFactory(email="vera@example.com")
    charlie = UserFactory(email="charlie@example.com")
    workspace = make_workspace(alice, "Acme", plan="team", seats=10)
    add_member(workspace, adam, "admin")
    add_member(workspace, bob, "member")
    add_member(workspace, vera, "viewer")
    other = make_workspace(charlie, "Charlie's")
    return Team(workspace, alice, adam, bob, vera, charlie, other)


@pytest.fixture(autouse=True)
def mail_sent_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the email task's real code in this process when it is enqueued (on commit), so the
    message lands in Django's test outbox; tests/accounts cover the real worker path."""
    from accounts.tasks import send_email

    def apply_async(args: Any = (), kwargs: Any = None, **options: Any) -> Any:
        return send_email.apply(args=args, kwargs=kwargs or {})

    monkeypatch.setattr(send_email, "apply_async", apply_async)
