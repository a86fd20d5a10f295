"""Client-chosen ids are looked up inside the workspace of the URL (and the caller): an id that
belongs to another workspace, or to another member, answers exactly what an unknown id answers.

Chat ids are chosen by clients and unique per workspace only, so the same chat id can name a
chat in two workspaces; generation ids (in Last-Event-ID) and approval tokens are bearer-like
values that must not work across that boundary. alice owns the workspace, bob is a member;
charlie owns another workspace, which bob also joins here."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from ai import protocol, streams
from chats import services as chat_services
from core.tenancy import db_context
from tests.factories import add_member
from tests.workspaces.conftest import Team

pytestmark = pytest.mark.django_db


def url(workspace: Any, path: str) -> str:
    return f"/api/v1/workspaces/{workspace.pk}/{path}"


def _chat(workspace: Any, user: Any, chat_id: uuid.UUID) -> Any:
    with db_context(workspace_id=workspace.pk, user_id=user.pk):
        return chat_services.chat_start(
            workspace_id=workspace.pk, user=user, chat_id=chat_id, connection_id=None
        )


def _generation(workspace: Any, user: Any, chat_id: uuid.UUID, *, done: bool) -> str:
    """A generation of `chat_id` in `workspace`, as chat_reply_start opens it, with a secret
    in its chunks."""
    generation_id = streams.new_generation_id()
    message_id = str(uuid.uuid4())
    streams.generation_open(
        generation_id=generation_id,
        workspace_id=str(workspace.pk),
        user_id=str(user.pk),
        chat_id=str(chat_id),
        message_id=message_id,
        request={},
        first_chunks=[protocol.start(message_id)],
    )
    writer = streams.ChunkWriter(generation_id)
    writer.add({"type": "text-delta", "id": "t", "delta": "workspace A's secret"})
    if done:
        writer.close({"type": "finish"}, status=streams.DONE)
    return generation_id


def _content(response: Any) -> bytes:
    if not getattr(response, "streaming", False):
        return bytes(response.content)

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)()


def _body(response: Any) -> Any:
    """The response as a client compares it: status and body, less the request id."""
    if getattr(response, "streaming", False) or not response.content:
        return response.status_code, _content(response)
        return response.status_code, b""
    body = response.json()
    body.get("error", {}).pop("request_id", None)
    return response.status_code, body


@pytest.fixture
def bob_in_both(team: Team) -> Team:
    """bob is a member of alice's workspace and of charlie's."""
    add_member(team.other_workspace, team.member, "member")
    return team


def test_resume_with_another_workspaces_event_id_answers_as_an_unknown_one(
    bob_in_both: Team,
) -> None:
    team = bob_in_both
    chat_id = uuid.uuid4()
    # The same chat id in both workspaces, both bob's.
    _chat(team.workspace, team.member, chat_id)
    _chat(team.other_workspace, team.member, chat_id)
    generation_id = _generation(team.workspace, team.member, chat_id, done=True)
    client = team.client("member")

    own = client.get(
        url(team.workspace, f"chats/{chat_id}/stream"),
        HTTP_LAST_EVENT_ID=f"{generation_id}:0-0",
    )
    assert own.status_code == 200  # the generation is readable where it belongs
    assert b"workspace A's secret" in _content(own)

    crossed = client.get(
        url(team.other_workspace, f"chats/{chat_id}/stream"),
        HTTP_LAST_EVENT_ID=f"{generation_id}:0-0",
    )
    unknown = client.get(
        url(team.other_workspace, f"chats/{chat_id}/stream"),
        HTTP_LAST_EVENT_ID=f"{streams.new_generation_id()}:0-0",
    )
    assert _body(crossed) == _body(unknown) == (204, b"")


def test_resume_and_stop_ignore_an_active_generation_of_another_workspace(
    bob_in_both: Team,
) -> None:
    """A chat row pointing at a generation that is not its own (a same-id chat elsewhere) is
    treated as pointing at nothing: no replay, no stop."""
    team = bob_in_both
    chat_id = uuid.uuid4()
    _chat(team.workspace, team.member, chat_id)
    chat = _chat(team.other_workspace, team.member, chat_id)
    generation_id = _generation(team.workspace, team.member, chat_id, done=False)
    with db_context(workspace_id=team.other_workspace.pk, user_id=team.member.pk):
        chat_services.chat_set_active_stream(chat, generation_id)
    client = team.client("member")

    resumed = client.get(url(team.other_workspace, f"chats/{chat_id}/stream"))
    assert _body(resumed) == (204, b"")
    stopped = client.post(url(team.other_workspace, f"chats/{chat_id}/stop"))
    assert _body(stopped) == (204, b"")
    info = streams.generation_info(generation_id)
    assert info is not None
    assert info.live
    assert not streams.redis_client().exists(streams.stop_key(generation_id))


def test_resume_of_another_members_generation_answers_as_an_unknown_one(team: Team) -> None:
    chat_id = uuid.uuid4()
    _chat(team.workspace, team.member, chat_id)
    generation_id = _generation(team.workspace, team.owner, chat_id, done=True)
    response = team.client("member").get(
        url(team.workspace, f"chats/{chat_id}/stream"),
        HTTP_LAST_EVENT_ID=f"{generation_id}:0-0",
    )
    assert _body(response) == (204, b"")


# ---------------------------------------------------------------------------------------------
# Approval tokens: no oracle
# ---------------------------------------------------------------------------------------------
SQL = "DELETE FROM sessions"


def _token(team: Team, who: str, workspace: Any = None) -> str:
    response = team.client(who).post(
        url(workspace or team.workspace, "ai/approvals"),
        {"sql": SQL, "dialect": "postgres"},
        format="json",
    )
    assert response.status_code == 201, response.content
    token: str = response.json()["token"]
    return token


def _approve(team: Team, who: str, token: str, workspace: Any = None) -> Any:
    return team.client(who).post(
        url(workspace or team.workspace, "ai/approvals/approve"),
        {"token": token, "sql": SQL},
        format="json",
    )


def test_another_members_token_answers_exactly_as_an_unknown_one(team: Team) -> None:
    token = _token(team, "owner")
    someone_elses = _approve(team, "member", token)
    unknown = _approve(team, "member", "x" * 43)
    assert _body(someone_elses) == _body(unknown)
    assert someone_elses.status_code == 410
    # Nor is it used up by the attempt: its member still approves with it.
    assert _approve(team, "owner", token).status_code == 200


def test_a_token_of_another_workspace_answers_exactly_as_an_unknown_one(
    bob_in_both: Team,
) -> None:
    team = bob_in_both
    token = _token(team, "member", team.other_workspace)
    crossed = _approve(team, "member", token, team.workspace)
    unknown = _approve(team, "member", "y" * 43, team.workspace)
    assert _body(crossed) == _body(unknown)
    assert crossed.status_code == 410
    assert _approve(team, "member", token, team.other_workspace).status_code == 200


def test_the_deprecated_path_gives_the_same_answers(team: Team) -> None:
    """`ai/approvals/{token}/approve` still works for one release, with the same rules."""
    token = _token(team, "owner")
    deprecated = url(team.workspace, f"ai/approvals/{token}/approve")
    someone_elses = team.client("member").post(deprecated, {"sql": SQL}, format="json")
    unknown = team.client("member").post(
        url(team.workspace, f"ai/approvals/{'z' * 43}/approve"), {"sql": SQL}, format="json"
    )
    assert _body(someone_elses) == _body(unknown)
    assert someone_elses.status_code == 410
    approved = team.client("owner").post(deprecated, {"sql": SQL}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["sql"] == SQL
    assert team.client("owner").post(deprecated, {"sql": SQL}, format="json").status_code == 410
