"""Chat titles are encrypted at rest like the rest of a chat (`title_encrypted`); the plaintext
`title` column of earlier releases is read while it is not empty and emptied by every write, by
a tombstone, and by `manage.py encrypt_chat_titles`, which encrypts old rows in batches while
the service runs. The title search and ordering work on decrypted titles. On the wire (REST,
sync, export) nothing changes. bob is the member whose chats these are; adam is another
member; charlie the outsider."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from chats import selectors, services
from chats.entity import ChatEntity
from chats.models import Chat
from core.tenancy import db_context
from core.tenancy.system import system_context
from tests.connections.helpers import Team, all_tables_containing, canary, url
from tests.sync.conftest import device
from workspaces.models import Membership

pytestmark = pytest.mark.django_db


def _membership(team: Team, role: str) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(
        workspace=team.workspace, user=team.user(role)
    )


def make_chat(team: Team, title: str, role: str = "member") -> Chat:
    with db_context(workspace_id=team.workspace.pk, user_id=team.user(role).pk):
        return services.chat_create(membership=_membership(team, role), fields={"title": title})


def make_legacy(chat: Chat, title: str, *, keep_encrypted: bool = False) -> None:
    """The row as an earlier release left it: the title in plaintext (and, when an earlier
    release renamed a chat this release had written, a stale encrypted one too)."""
    with system_context(workspace_id=chat.workspace_id), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.maintenance', 'reencrypt', true)")
        cursor.execute(
            "UPDATE chats_chat SET title = %s"
            + ("" if keep_encrypted else ", title_encrypted = NULL")
            + " WHERE row_id = %s",
            [title, chat.row_id],
        )


def raw_titles(chat: Chat) -> tuple[str, str | None]:
    with system_context(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT title, title_encrypted FROM chats_chat WHERE row_id = %s", [chat.row_id]
        )
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def listed(team: Team, query: str = "", who: str = "member") -> list[str]:
    titles: list[str] = []
    path: str | None = url(team, f"chats/{query}")
    while path:
        response = team.client(who).get(path)
        assert response.status_code == 200, response.content
        titles += [chat["title"] for chat in response.json()["results"]]
        path = response.json()["next"]
    return titles


def test_a_title_is_stored_encrypted_and_read_as_before(team: Team) -> None:
    secret = canary("title")
    chat = make_chat(team, f"Why is {secret} slow")
    title, sealed = raw_titles(chat)
    assert title == ""
    assert sealed is not None
    assert all_tables_containing(secret) == []
    response = team.client("member").get(url(team, f"chats/{chat.id}"))
    assert response.json()["title"] == f"Why is {secret} slow"

    renamed = canary("renamed")
    response = team.client("member").patch(
        url(team, f"chats/{chat.id}"), {"title": renamed}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == renamed
    assert all_tables_containing(renamed) == []


def test_sync_and_export_carry_the_title_unchanged(team: Team) -> None:
    secret = canary("synced")
    laptop = device(team, "member")
    chat_id = "7b0c1a2e-4d5f-4e6a-9b8c-1d2e3f4a5b6c"
    laptop.push(laptop.mutation("chat", chat_id, {"title": secret}))
    assert all_tables_containing(secret) == []
    pulled = [c for c in device(team, "member").pull_all() if c["entity"] == "chat"]
    assert pulled[-1]["data"]["title"] == secret

    exported = team.client("member").get(url(team, "export"))
    assert exported.status_code == 200, exported.content
    document = exported.json()
    assert [c["title"] for c in document["entities"]["chat"]] == [secret]
    # Imported elsewhere, it is stored encrypted there too.
    target = url(team, "import", workspace=team.other_workspace)
    imported = team.client("outsider").post(target, {"document": document}, format="json")
    assert imported.status_code == 201, imported.content
    assert all_tables_containing(secret) == []
    titles = [
        c["title"]
        for c in team.client("outsider")
        .get(url(team, "chats/", workspace=team.other_workspace))
        .json()["results"]
    ]
    assert titles == [secret]


def test_rows_of_earlier_releases_read_their_plaintext_until_written(team: Team) -> None:
    legacy = make_chat(team, "placeholder")
    make_legacy(legacy, "Old plaintext title")
    assert team.client("member").get(url(team, f"chats/{legacy.id}")).json()["title"] == (
        "Old plaintext title"
    )
    pulled = {c["id"]: c["data"] for c in device(team, "member").pull_all()}
    assert pulled[str(legacy.id)]["title"] == "Old plaintext title"

    # An earlier release renamed it after this one had encrypted it: the plaintext is newer.
    newer = make_chat(team, "written by this release")
    make_legacy(newer, "renamed by the previous release", keep_encrypted=True)
    assert team.client("member").get(url(team, f"chats/{newer.id}")).json()["title"] == (
        "renamed by the previous release"
    )

    # Any write empties the plaintext.
    team.client("member").patch(url(team, f"chats/{legacy.id}"), {"title": "new"}, format="json")
    assert raw_titles(legacy)[0] == ""
    assert team.client("member").get(url(team, f"chats/{legacy.id}")).json()["title"] == "new"


def test_deleting_a_chat_erases_its_title_in_both_columns(team: Team) -> None:
    chat = make_chat(team, "to be deleted")
    make_legacy(chat, "legacy words", keep_encrypted=True)
    response = team.client("member").delete(url(team, f"chats/{chat.id}"))
    assert response.status_code == 204
    assert raw_titles(chat) == ("", None)


def test_the_backfill_encrypts_every_plaintext_title_without_new_versions(team: Team) -> None:
    secrets = [canary(f"legacy{i}") for i in range(5)]
    chats = [make_chat(team, "x", role) for role in ("member", "member", "admin", "owner")]
    chats.append(make_chat(team, "x", "member"))
    for chat, secret in zip(chats, secrets, strict=True):
        make_legacy(chat, secret)
    # A deleted chat an earlier release left with its title: erased, not encrypted.
    gone = make_chat(team, "x")
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        services.chat_delete(membership=_membership(team, "member"), chat_id=gone.id)
    gone_secret = canary("gone")
    make_legacy(gone, gone_secret)
    # Another workspace's chat too.
    with db_context(workspace_id=team.other_workspace.pk, user_id=team.outsider.pk):
        other = services.chat_create(
            membership=Membership.objects.get(workspace=team.other_workspace, user=team.outsider),
            fields={"title": "x"},
        )
    other_secret = canary("other")
    make_legacy(other, other_secret)
    with system_context():
        versions = dict(Chat.objects.values_list("row_id", "version"))
    with pytest.raises(CommandError, match="still in plaintext"):
        call_command("encrypt_chat_titles", "--check")

    call_command("encrypt_chat_titles", "--batch-size", "2")

    for secret in [*secrets, gone_secret, other_secret]:
        assert all_tables_containing(secret) == [], secret
    with system_context():
        assert dict(Chat.objects.values_list("row_id", "version")) == versions
        assert not Chat.objects.exclude(title="").exists()
    for chat, secret in zip(chats, secrets, strict=True):
        with db_context(workspace_id=chat.workspace_id, user_id=chat.author_id):
            assert selectors.chat_title(Chat.objects.get(row_id=chat.row_id)) == secret
    assert raw_titles(gone) == ("", None)
    call_command("encrypt_chat_titles", "--check")
    call_command("encrypt_chat_titles")  # nothing left: does nothing


@pytest.mark.django_db(transaction=True)
def test_the_backfill_passes_over_rows_a_writer_holds(team: Team) -> None:
    """It never waits on a request: a locked row is left for the next run, and the command
    says so."""
    import threading

    chat = make_chat(team, "x")
    make_legacy(chat, "held")
    other = make_chat(team, "y")
    make_legacy(other, "free")
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        from django.db import connections, transaction

        try:
            with transaction.atomic(), system_context():
                Chat.objects.select_for_update().get(row_id=chat.row_id)
                locked.set()
                release.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert locked.wait(10)
        report = services.chat_titles_encrypt_plaintext(batch_size=10)
    finally:
        release.set()
        thread.join()
    assert (report.encrypted, report.remaining) == (1, 1)
    assert raw_titles(other)[0] == ""
    assert raw_titles(chat)[0] == "held"


# ---------------------------------------------------------------------------------------------
# Search and ordering on decrypted titles
# ---------------------------------------------------------------------------------------------
def test_q_finds_decrypted_titles_ignoring_case_and_only_ones_own(team: Team) -> None:
    for title in ("Slow JOIN on orders", "orders by month", "Invoices", "Ünïcode ORDERS"):
        make_chat(team, title)
    legacy = make_chat(team, "x")
    make_legacy(legacy, "Legacy orders title")
    make_chat(team, "adam's orders", role="admin")
    found = sorted(listed(team, "?q=ORDERS"))
    assert found == [
        "Legacy orders title",
        "Slow JOIN on orders",
        "orders by month",
        "Ünïcode ORDERS",
    ]
    assert listed(team, "?q=nothing like it") == []
    outsider = team.client("outsider").get(url(team, "chats/?q=orders"))
    assert outsider.status_code == 404


def test_title_ordering_sorts_decrypted_titles_across_pages(team: Team) -> None:
    titles = ["delta", "Alpha", "charlie", "bravo", "Echo", "foxtrot"]
    for title in titles:
        make_chat(team, title)
    expected = sorted(titles, key=str.casefold)
    assert listed(team, "?ordering=title&limit=2") == expected
    assert listed(team, "?ordering=-title&limit=4") == expected[::-1]
    assert listed(team, "?ordering=title&q=o&limit=1") == ["bravo", "Echo", "foxtrot"]


def test_search_and_title_ordering_cover_the_most_recent_chats(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "TITLE_SCAN_LIMIT", 3)
    for title in ("old b", "old a", "new c", "new b", "new a"):  # the last three are newest
        make_chat(team, title)
    assert sorted(listed(team, "?q=old")) == []
    assert sorted(listed(team, "?q=new")) == ["new a", "new b", "new c"]
    by_title = listed(team, "?ordering=title&limit=2")
    assert by_title[:3] == ["new a", "new b", "new c"]
    assert sorted(by_title[3:]) == ["old a", "old b"]  # the rest, after


def test_list_query_counts(team: Team, django_assert_num_queries: Any) -> None:
    """The search and title ordering cost one query more (the titles to decrypt), whatever the
    number of chats."""
    make_chat(team, "a")
    client = team.client("member")
    client.get(url(team, "chats/?q=a"))
    with django_assert_num_queries(7):
        assert len(client.get(url(team, "chats/?q=a&ordering=title")).json()["results"]) == 1
    for i in range(20):
        make_chat(team, f"a{i}")
    with django_assert_num_queries(7):
        assert len(client.get(url(team, "chats/?q=a&ordering=title")).json()["results"]) == 21


def test_entity_reads_one_and_many_agree(team: Team) -> None:
    rows = [make_chat(team, f"t{i}") for i in range(3)]
    make_legacy(rows[1], "legacy")
    with db_context(workspace_id=team.workspace.pk, user_id=team.member.pk):
        fresh = list(Chat.objects.filter(row_id__in=[r.row_id for r in rows]).order_by("row_id"))
        assert ChatEntity.read_many(fresh, "title") == [
            ChatEntity.read(row, "title") for row in fresh
        ]
        assert ChatEntity.read_many(fresh, "title") == ["t0", "legacy", "t2"]
