"""Chats API: list, read with messages, rename, delete (with its messages), messages read-only.
Chats are private to their author. Message parts and metadata are encrypted at rest. Charlie,
the outsider, gets 404."""

from __future__ import annotations

from typing import Any

import pytest

from chats import services
from chats.models import Chat, ChatMessage
from core.tenancy import db_context
from tests.connections.helpers import Team, all_tables_containing, canary, url
from workspaces.models import Membership

pytestmark = pytest.mark.django_db

LIST_QUERIES = 6


def _membership(team: Team, role: str) -> Membership:
    user = team.user(role)
    return Membership.objects.select_related("workspace", "user").get(
        workspace=team.workspace, user=user
    )


def make_chat(
    team: Team, role: str = "member", title: str = "Slow query", messages: int = 2
) -> Chat:
    with db_context(workspace_id=team.workspace.pk, user_id=team.user(role).pk):
        membership = _membership(team, role)
        chat = services.chat_create(membership=membership, fields={"title": title})
        for i in range(messages):
            services.chat_message_append(
                membership=membership,
                fields={
                    "chat_id": str(chat.id),
                    "role": "user" if i % 2 == 0 else "assistant",
                    "parts": [{"type": "text", "text": f"message {i}"}],
                    "metadata": {"i": i},
                },
                model="" if i % 2 == 0 else "claude",
                input_tokens=None if i % 2 == 0 else 10,
                output_tokens=None if i % 2 == 0 else 20,
            )
    return chat


def test_list_and_read_with_messages(team: Team) -> None:
    chat = make_chat(team, messages=3)
    make_chat(team, "admin", title="Adam's")
    client = team.client("member")
    listed = client.get(url(team, "chats/"))
    assert listed.status_code == 200
    assert [c["title"] for c in listed.json()["results"]] == ["Slow query"]
    read = client.get(url(team, f"chats/{chat.id}"))
    assert read.status_code == 200
    body = read.json()
    assert body["messages_truncated"] is False
    assert [m["parts"][0]["text"] for m in body["messages"]] == [
        "message 0",
        "message 1",
        "message 2",
    ]
    assert body["messages"][1]["model"] == "claude"
    assert body["messages"][1]["output_tokens"] == 20
    messages = client.get(url(team, f"chats/{chat.id}/messages/") + "?limit=2").json()
    assert [m["metadata"] for m in messages["results"]] == [{"i": 0}, {"i": 1}]
    rest = client.get(messages["next"]).json()
    assert [m["metadata"] for m in rest["results"]] == [{"i": 2}]
    newest = client.get(url(team, f"chats/{chat.id}/messages/") + "?ordering=-created_at")
    assert newest.json()["results"][0]["metadata"] == {"i": 2}


def test_chats_are_private_to_their_author(team: Team) -> None:
    chat = make_chat(team, "member")
    for role in ("owner", "admin", "viewer"):
        client = team.client(role)
        assert client.get(url(team, "chats/")).json()["results"] == []
        assert client.get(url(team, f"chats/{chat.id}")).status_code == 404
        assert client.get(url(team, f"chats/{chat.id}/messages/")).status_code == 404
        assert (
            client.patch(
                url(team, f"chats/{chat.id}"), {"title": "mine"}, format="json"
            ).status_code
            == 404
        )
        assert client.delete(url(team, f"chats/{chat.id}")).status_code == 404


def test_viewer_has_own_chats(team: Team) -> None:
    chat = make_chat(team, "viewer")
    client = team.client("viewer")
    assert (
        client.patch(url(team, f"chats/{chat.id}"), {"title": "v"}, format="json").status_code
        == 200
    )
    assert client.delete(url(team, f"chats/{chat.id}")).status_code == 204


def test_message_content_is_encrypted_at_rest(team: Team) -> None:
    secret = canary("msg")
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        membership = _membership(team, "member")
        chat = services.chat_create(membership=membership, fields={"title": "t"})
        services.chat_message_append(
            membership=membership,
            fields={
                "chat_id": str(chat.id),
                "role": "user",
                "parts": [{"type": "text", "text": secret}],
                "metadata": {"note": secret},
            },
        )
    assert secret in team.client("member").get(url(team, f"chats/{chat.id}")).content.decode()
    assert all_tables_containing(secret) == []


def test_rename_with_concurrency(team: Team) -> None:
    chat = make_chat(team)
    client = team.client("member")
    path = url(team, f"chats/{chat.id}")
    renamed = client.patch(
        path, {"title": "Index advice"}, format="json", HTTP_IF_MATCH=str(chat.version)
    )
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "Index advice"
    stale = client.patch(path, {"title": "x", "expected_version": chat.version}, format="json")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    for bad in ({"title": "x" * 201}, {}, {"title": "x", "connection_id": None}, {"title": None}):
        response = client.patch(path, bad, format="json")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "validation_error"


def test_delete_tombstones_chat_and_messages(team: Team) -> None:
    chat = make_chat(team, messages=3)
    client = team.client("member")
    assert client.delete(url(team, f"chats/{chat.id}")).status_code == 204
    assert client.get(url(team, f"chats/{chat.id}")).status_code == 404
    assert client.get(url(team, "chats/")).json()["results"] == []
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        messages = list(ChatMessage.objects.filter(chat_id=chat.id))
        assert Chat.objects.get(id=chat.id).deleted
    assert len(messages) == 3
    assert all(m.deleted and m.parts_encrypted is None for m in messages)
    assert all(m.metadata_encrypted is None for m in messages)


def test_messages_are_read_only(team: Team) -> None:
    chat = make_chat(team)
    client = team.client("member")
    response = client.post(
        url(team, f"chats/{chat.id}/messages/"), {"role": "user", "parts": []}, format="json"
    )
    assert response.status_code == 405


def test_outsider_gets_404(team: Team) -> None:
    chat = make_chat(team)
    client = team.client("outsider")
    for response in (
        client.get(url(team, "chats/")),
        client.get(url(team, f"chats/{chat.id}")),
        client.get(url(team, f"chats/{chat.id}/messages/")),
        client.patch(url(team, f"chats/{chat.id}"), {"title": "x"}, format="json"),
        client.delete(url(team, f"chats/{chat.id}")),
    ):
        assert response.status_code == 404


def test_bad_query_parameters_are_400(team: Team) -> None:
    client = team.client("member")
    for bad in ("?ordering=secret", "?connection_id=abc"):
        response = client.get(url(team, "chats/") + bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"


def test_list_query_count_is_constant(team: Team, django_assert_num_queries: Any) -> None:
    make_chat(team, messages=0)
    client = team.client("member")
    client.get(url(team, "chats/"))
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "chats/")).json()["results"]) == 1
    for i in range(20):
        make_chat(team, title=f"chat {i}", messages=0)
    with django_assert_num_queries(LIST_QUERIES):
        assert len(client.get(url(team, "chats/")).json()["results"]) == 21


def test_messages_list_query_count(team: Team, django_assert_num_queries: Any) -> None:
    chat = make_chat(team, messages=2)
    client = team.client("member")
    path = url(team, f"chats/{chat.id}/messages/")
    client.get(path)
    with django_assert_num_queries(LIST_QUERIES + 1):  # + the chat itself
        assert len(client.get(path).json()["results"]) == 2


def test_deleting_the_workspace_or_an_account_removes_private_chats(team: Team) -> None:
    from accounts.services.account import account_delete
    from core.tenancy.system import system_context
    from workspaces import services as workspace_services

    make_chat(team, "member")
    make_chat(team, "admin")
    account_delete(user=team.admin, request=None)
    with system_context():
        assert set(Chat.objects.values_list("author_id", flat=True)) == {team.member.pk}
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        workspace_services.workspace_delete(membership=_membership(team, "owner"))
    with system_context():
        assert not Chat.objects.exists()
        assert not ChatMessage.objects.exists()


def test_messages_are_append_only_and_deletable_by_their_author(team: Team) -> None:
    from core.entity_writes import entity_update
    from core.exceptions import ApplicationError, NotFound

    chat = make_chat(team, messages=2)
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        message = ChatMessage.objects.filter(chat_id=chat.id).order_by("created_at").first()
        assert message is not None
        with pytest.raises(ApplicationError) as info:
            entity_update(
                services.ChatMessageEntity, message, fields={"role": "system"}, writer="t"
            )
        assert info.value.code == "append_only"
        services.chat_message_delete(membership=_membership(team, "member"), message_id=message.id)
    remaining = team.client("member").get(url(team, f"chats/{chat.id}/messages/")).json()
    assert len(remaining["results"]) == 1
    with db_context(workspace_id=team.workspace.pk, user_id=team.admin.pk), pytest.raises(NotFound):
        services.chat_message_delete(
            membership=_membership(team, "admin"), message_id=remaining["results"][0]["id"]
        )
