"""A chat's messages die with it, by every door a chat is deleted through: the REST API and a
device's sync push tombstone its messages (content erased) through the entity's one rule
(`ChatEntity.cascade_deletes`), and the member's other devices pull the tombstones. (The REST
door: tests/chats/test_chats.py::test_delete_tombstones_chat_and_messages.)"""

from __future__ import annotations

from typing import Any

from chats.models import ChatMessage
from core.tenancy import db_context
from tests.sync.conftest import Device, device, new_id
from tests.workspaces.conftest import Team


def _chat_with_messages(dev: Device, count: int = 3) -> tuple[str, list[str]]:
    chat_id = new_id()
    message_ids = [new_id() for _ in range(count)]
    out = dev.push(
        dev.mutation("chat", chat_id, {"title": "slow query"}),
        *(
            dev.mutation(
                "chat_message",
                message_id,
                {"chat_id": chat_id, "role": "user", "parts": [{"type": "text", "text": "hi"}]},
            )
            for message_id in message_ids
        ),
    )
    assert {r["status"] for r in out["results"]} == {"applied"}
    return chat_id, message_ids


def _messages(team: Team, role: str, ids: list[str]) -> list[ChatMessage]:
    with db_context(workspace_id=team.workspace.pk, user_id=team.user(role).pk):
        return list(ChatMessage.objects.filter(workspace_id=team.workspace.pk, id__in=ids))


def _assert_tombstoned(rows: list[ChatMessage], count: int) -> None:
    assert len(rows) == count
    for row in rows:
        assert row.deleted
        assert row.parts_encrypted is None
        assert row.metadata_encrypted is None


def test_a_sync_delete_of_a_chat_tombstones_its_messages(team: Team) -> None:
    laptop, phone = device(team, "member"), device(team, "member")
    chat_id, message_ids = _chat_with_messages(laptop)
    phone.pull_all()

    out = laptop.push(laptop.mutation("chat", chat_id, op="delete"))
    assert out["results"][0]["status"] == "applied"

    _assert_tombstoned(_messages(team, "member", message_ids), len(message_ids))
    pulled: dict[str, Any] = {
        change["id"]: change for change in phone.pull_all() if change["entity"] == "chat_message"
    }
    assert set(pulled) == set(message_ids)
    assert all(change["op"] == "delete" and change["data"] is None for change in pulled.values())


def test_a_message_created_and_its_chat_deleted_in_one_push(team: Team) -> None:
    laptop = device(team, "member")
    chat_id, message_id = new_id(), new_id()
    out = laptop.push(
        laptop.mutation("chat", chat_id, {"title": "t"}),
        laptop.mutation(
            "chat_message",
            message_id,
            {"chat_id": chat_id, "role": "user", "parts": [{"type": "text", "text": "x"}]},
        ),
        laptop.mutation("chat", chat_id, op="delete"),
        # A later mutation of the same push naming the message sees it deleted.
        laptop.mutation("chat_message", message_id, op="delete"),
    )
    assert [r["status"] for r in out["results"]] == ["applied"] * 4
    _assert_tombstoned(_messages(team, "member", [message_id]), 1)


def test_deleting_a_chat_leaves_other_chats_and_members_alone(team: Team) -> None:
    mine, theirs = device(team, "member"), device(team, "owner")
    doomed, doomed_messages = _chat_with_messages(mine, count=1)
    kept, kept_messages = _chat_with_messages(mine, count=1)
    _, owners_messages = _chat_with_messages(theirs, count=1)

    mine.push(mine.mutation("chat", doomed, op="delete"))

    _assert_tombstoned(_messages(team, "member", doomed_messages), 1)
    assert [row.deleted for row in _messages(team, "member", kept_messages)] == [False]
    assert [row.deleted for row in _messages(team, "owner", owners_messages)] == [False]
    assert kept != doomed
