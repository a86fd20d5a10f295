"""The push's batch paths (core/entity_bulk.py and the per-push results ledger) write what the
ORM and the per-mutation ledger wrote: the same columns for every entity, the same results,
errors, versions and replays, in mixed batches too."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chats.models import Chat
from connections.models import Connection
from core import entity_bulk as bulk
from core.entities import EntityAdapter, adapter_for, adapters
from core.tenancy import db_context
from core.versioning import VersionClock
from queries.models import QueryHistory, SavedQuery
from sync.models import MutationResult, SyncClient
from tests.sync.conftest import Device, new_id
from tests.workspaces.conftest import Team

# Every wire field of every entity, so each column goes through the batch insert.
FULL_FIELDS: dict[str, dict[str, Any]] = {
    "connection": {
        "name": 'prod "main" \\ db',
        "engine": "postgres",
        "host": "db.example.com",
        "port": 5432,
        "database": "app",
        "username": "ana",
        "options": {"ssl": {"mode": "verify-full"}, "ssh": None, "n": [1, 2.5, "x"]},
        "color": "#ff0000",
        "tags": ["a", "b'c"],
        "read_only": True,
        "password": "p@ss'wörd",
        "connection_string": None,
        "ssh_private_key": "-----BEGIN KEY-----\nabc\n",
        "ssh_passphrase": "",
        "tls_client_key": None,
    },
    "saved_query": {
        "name": "Active users ✓",
        "description": "line 1\nline 2\t'quoted'",
        "sql": "select * from users where name = 'a\"b'",
        "connection_id": str(uuid.uuid4()),
        "tags": [],
        "favorite": True,
        "folder": "reports/weekly",
    },
    "query_history": {
        "sql": "select 1",
        "connection_id": None,
        "executed_at": "2026-11-24T10:00:00.123456+02:00",
        "duration_ms": 12,
        "rows": 2**40,
        "success": None,
        "error": "boom",
    },
    "chat": {"title": "", "connection_id": str(uuid.uuid4())},
    "chat_message": {
        "chat_id": str(uuid.uuid4()),
        "role": "user",
        "parts": [{"type": "text", "text": "hi \u2603"}],
        "metadata": None,
    },
}


def _columns(model: Any, row_id: uuid.UUID) -> dict[str, Any]:
    values = model._default_manager.filter(id=row_id).values().get()
    values.pop("row_id")
    values.pop("id")
    return values


def _build(adapter: type[EntityAdapter], build: Any, team: Team, when: datetime) -> Any:
    clean = adapter.validate(FULL_FIELDS[adapter.entity], creating=True)
    row = build(workspace_id=team.workspace.pk, user=team.owner, row_id=uuid.uuid4())
    row.created_at = row.updated_at = when
    adapter.apply(row, clean)
    return row, clean


@pytest.mark.parametrize("entity", sorted(FULL_FIELDS))
def test_batch_insert_writes_what_bulk_create_writes(team: Team, entity: str) -> None:
    adapter = adapter_for(entity)
    assert adapter is not None
    when = datetime(2026, 11, 24, 12, 30, 15, 123456, tzinfo=UTC)
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk), transaction.atomic():
        clock = VersionClock.reserve(team.workspace.pk, count=2, poke=False)
        fast, clean = _build(adapter, lambda **kw: bulk.new_row(adapter, **kw), team, when)
        orm, _ = _build(adapter, adapter.new_row, team, when)
        # The same attributes before anything is written (ids, times and ciphertexts aside).
        ignore = {"id", *(f"{name}_encrypted" for name in adapter.encrypted)}
        assert {k: v for k, v in vars(fast).items() if k not in ignore | {"_state"}} == {
            k: v for k, v in vars(orm).items() if k not in ignore | {"_state"}
        }
        assert (fast._state.adding, fast._state.db) == (True, None)
        version = clock.next()
        fast.touch_fields(clean, version=version, writer="c:test")
        orm.touch_fields(clean, version=version, writer="c:test")
        fast.updated_at = orm.updated_at = when

        bulk.insert_rows(adapter.model, [fast])
        adapter.model._default_manager.bulk_create([orm])

        assert fast.row_id is not None
        assert (fast._state.adding, fast._state.db) == (False, "default")
        fast_columns, orm_columns = (
            _columns(adapter.model, fast.id),
            _columns(adapter.model, orm.id),
        )
        for name in adapter.encrypted:  # ciphertexts differ (fresh salt); plaintexts must not
            fast_columns.pop(f"{name}_encrypted")
            orm_columns.pop(f"{name}_encrypted")
            stored = adapter.model._default_manager.get(id=fast.id)
            assert adapter.read(stored, name) == adapter.read(orm, name)
        assert fast_columns == orm_columns
        # The saved instance updates like any loaded row.
        fast.deleted = True
        fast.touch_fields(["deleted"], version=clock.next(), writer="c:test")
        fast.save()
        assert adapter.model._default_manager.get(id=fast.id).deleted is True


def test_every_synced_model_takes_the_batch_paths() -> None:
    for adapter in adapters().values():
        assert bulk._plan(adapter.model) is not None, adapter.entity
        assert bulk._defaults(adapter.model) is not None, adapter.entity


def test_null_times_stay_null(team: Team) -> None:
    adapter = adapter_for("query_history")
    assert adapter is not None
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk), transaction.atomic():
        clock = VersionClock.reserve(team.workspace.pk, count=1, poke=False)
        row = bulk.new_row(
            adapter, workspace_id=team.workspace.pk, user=team.owner, row_id=uuid.uuid4()
        )
        assert isinstance(row, QueryHistory)
        row.executed_at = None
        row.touch_fields([], version=clock.next(), writer="c:test")
        bulk.insert_rows(QueryHistory, [row])
        stored = QueryHistory.objects.get(id=row.id)
        assert stored.executed_at is None
        assert stored.created_at == row.created_at


# --- through the endpoint ---------------------------------------------------------------------


def _statuses(out: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("error", {}).get("code")) for r in out["results"]]


def test_full_rows_of_every_entity_round_trip(team: Team, alice: Device) -> None:
    connection_id, chat_id = new_id(), new_id()
    fields = {
        "connection": {**FULL_FIELDS["connection"]},
        "saved_query": {**FULL_FIELDS["saved_query"], "connection_id": connection_id},
        "query_history": {**FULL_FIELDS["query_history"], "connection_id": connection_id},
        "chat": {**FULL_FIELDS["chat"], "connection_id": connection_id},
        "chat_message": {**FULL_FIELDS["chat_message"], "chat_id": chat_id},
    }
    ids = {"connection": connection_id, "chat": chat_id}
    mutations = [
        alice.mutation(entity, ids.get(entity) or new_id(), value)
        for entity, value in fields.items()
    ]
    out = alice.push(*mutations)
    assert _statuses(out) == [("applied", None)] * 5
    pulled = {c["entity"]: c["data"] for c in alice.pull_all()}
    for entity, value in fields.items():
        expected = {**value}
        if entity == "query_history":
            expected["executed_at"] = "2026-11-24T08:00:00.123456Z"
        data = pulled[entity]
        assert {name: data[name] for name in expected} == expected, entity
        assert data["version"] == next(
            r["version"] for r in out["results"] if r["id"] == data["id"]
        )


def test_mixed_batch_matches_one_mutation_at_a_time(team: Team, alice: Device) -> None:
    """The same mutations pushed as one batch and one by one (another device, another
    workspace state) end with the same statuses, error codes and rows."""
    shared = new_id()

    def script(dev: Device, sq: str, conn: str) -> list[dict[str, Any]]:
        return [
            dev.mutation("saved_query", sq, {"name": "a", "sql": "select 1"}),
            dev.mutation("saved_query", new_id(), {"name": ""}),  # invalid
            dev.mutation("saved_query", new_id(), {"name": "x", "colour": 1}),  # unknown field
            dev.mutation("connection", conn, {"name": "c", "engine": "postgres"}),
            dev.mutation("saved_query", sq, {"sql": "select 2"}, base=None),  # same push, edit
            dev.mutation("saved_query", new_id(), {"name": "ref", "connection_id": conn}),
            dev.mutation("saved_query", new_id(), {"name": "bad ref", "connection_id": new_id()}),
            dev.mutation("widget", new_id(), {}),
            dev.mutation("saved_query", "not-a-uuid", {"name": "x"}),
            dev.mutation("saved_query", sq, op="delete", base=None),
            dev.mutation("saved_query", sq, {"name": "after delete"}, base=1),
        ]

    batch = alice.push(*script(alice, shared, new_id()))
    other = Device(alice.http, alice.workspace)
    single = [other.push(m)["results"][0] for m in script(other, new_id(), new_id())]
    assert _statuses(batch) == [(r["status"], r.get("error", {}).get("code")) for r in single]
    assert _statuses(batch) == [
        ("applied", None),
        ("rejected", "invalid"),
        ("rejected", "unknown_field"),
        ("applied", None),
        ("applied", None),
        ("applied", None),
        ("rejected", "not_found"),
        ("rejected", "unknown_entity"),
        ("rejected", "invalid"),
        ("applied", None),
        ("conflict", None),
    ]
    versions = [r["version"] for r in batch["results"] if r["status"] == "applied"]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    assert batch["version"] >= max(versions)
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = SavedQuery.objects.get(workspace_id=team.workspace.pk, id=shared)
        assert row.deleted
        assert row.name == "a"
        assert SavedQuery.objects.filter(workspace_id=team.workspace.pk).count() == 4


def test_an_edit_after_a_mid_push_flush_updates_the_inserted_row(team: Team, alice: Device) -> None:
    # The first connection create counts the workspace's connections (team plan: limited),
    # which inserts the pending saved query first; the edit after it is then an UPDATE.
    sq = new_id()
    out = alice.push(
        alice.mutation("saved_query", sq, {"name": "a", "sql": "select 1"}),
        alice.mutation("connection", new_id(), {"name": "c", "engine": "postgres"}),
        alice.mutation("saved_query", sq, {"name": "b"}),
    )
    assert _statuses(out) == [("applied", None)] * 3
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = SavedQuery.objects.get(workspace_id=team.workspace.pk, id=sq)
    assert row.name == "b"
    assert row.version == out["results"][2]["version"]
    assert row.field_versions["name"][0] == out["results"][2]["version"]
    assert row.field_versions["sql"][0] == out["results"][0]["version"]


def test_plan_limit_mid_batch(team: Team, alice: Device, settings: Any) -> None:
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "team": {**settings.PLAN_LIMITS["team"], "saved_queries": 3},
    }
    first = alice.push(alice.mutation("saved_query", new_id(), {"name": "before"}))
    doomed = new_id()
    out = alice.push(
        alice.mutation("saved_query", new_id(), {"name": "a"}),
        alice.mutation("saved_query", new_id(), {"name": "b"}),
        alice.mutation("saved_query", doomed, {"name": "c"}),
        alice.mutation("saved_query", new_id(), {"name": "d"}),
    )
    assert _statuses(first) == [("applied", None)]
    assert _statuses(out) == [
        ("applied", None),
        ("applied", None),
        ("rejected", "plan_limit"),
        ("rejected", "plan_limit"),
    ]
    assert "3 saved queries" in out["results"][2]["error"]["message"]
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert SavedQuery.objects.filter(workspace_id=team.workspace.pk).count() == 3
        assert not SavedQuery.objects.filter(id=doomed).exists()


def test_an_unlimited_plan_does_not_count_rows(team: Team, alice: Device) -> None:
    assert team.workspace.plan == "team"  # saved queries unlimited, connections limited
    alice.push()  # registers the device (which counts the workspace's devices)
    with CaptureQueriesContext(connection) as queries:
        alice.push(*[alice.mutation("saved_query", new_id(), {"name": f"q{k}"}) for k in range(3)])
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    with CaptureQueriesContext(connection) as queries:
        alice.push(alice.mutation("connection", new_id(), {"name": "c", "engine": "postgres"}))
    assert [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_a_push_stores_its_results_in_one_row(team: Team, alice: Device) -> None:
    out = alice.push(
        *[alice.mutation("saved_query", new_id(), {"name": f"q{k}"}) for k in range(5)],
        alice.mutation("saved_query", new_id(), {"name": ""}),
    )
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        rows = list(MutationResult.objects.filter(client_id=alice.client_id))
    assert [(r.mutation_id, r.last_mutation_id) for r in rows] == [(1, 6)]
    assert rows[0].results() == {r["mutation_id"]: r for r in out["results"]}


def test_replays_across_batches_and_old_single_rows(team: Team, alice: Device) -> None:
    first = [alice.mutation("saved_query", new_id(), {"name": f"a{k}"}) for k in range(3)]
    second = [alice.mutation("saved_query", new_id(), {"name": f"b{k}"}) for k in range(3)]
    out1, out2 = alice.push(*first), alice.push(*second)
    # A result stored one per row, as before batches (mutation 7, written directly).
    legacy = {"mutation_id": 7, "id": new_id(), "status": "rejected", "error": {"code": "invalid"}}
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        MutationResult.objects.create(
            workspace_id=team.workspace.pk,
            user_id=team.owner.pk,
            client_id=alice.client_id,
            mutation_id=7,
            result=legacy,
        )
        SyncClient.objects.filter(client_id=alice.client_id).update(last_mutation_id=7)
    alice.next_mutation = 8
    fresh = alice.mutation("saved_query", new_id(), {"name": "new"})
    # Replays spanning both batches and the old row, out of order, with a new mutation.
    replay = alice.push(second[1], first[2], {"mutation_id": 7}, first[0], fresh)
    expected = [out2["results"][1], out1["results"][2], legacy, out1["results"][0]]
    for got, original in zip(replay["results"][:4], expected, strict=True):
        assert got == {**original, "status": "duplicate", "original_status": original["status"]}
    assert replay["results"][4]["status"] == "applied"
    assert replay["last_mutation_id"] == 8
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert SavedQuery.objects.filter(workspace_id=team.workspace.pk).count() == 7


def test_replay_of_a_collected_result(team: Team, alice: Device) -> None:
    m = alice.mutation("saved_query", new_id(), {"name": "q"})
    alice.push(m)
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        MutationResult.objects.filter(client_id=alice.client_id).delete()
    out = alice.push(m)
    assert out["results"] == [{"mutation_id": 1, "status": "duplicate", "original_status": None}]


def test_pokes_once_per_audience(team: Team, alice: Device, monkeypatch: Any) -> None:
    from sync.services import push as push_module

    calls: list[tuple[int, Any]] = []
    real = push_module.note_change

    def spy(workspace_id: Any, version: int, *, private_to: Any = None) -> None:
        calls.append((version, private_to))
        real(workspace_id, version, private_to=private_to)

    monkeypatch.setattr(push_module, "note_change", spy)
    out = alice.push(
        alice.mutation("saved_query", new_id(), {"name": "q"}),
        alice.mutation("chat", new_id(), {"title": "private"}),
        alice.mutation("saved_query", new_id(), {"name": "r"}),
    )
    versions = [r["version"] for r in out["results"]]
    assert sorted(calls, key=lambda c: c[0]) == sorted(
        [(versions[2], None), (versions[1], team.owner.pk)], key=lambda c: c[0]
    )


def test_existing_ids_sees_only_this_workspace(team: Team, alice: Device) -> None:
    sq = new_id()
    alice.push(alice.mutation("saved_query", sq, {"name": "q"}))
    missing = uuid.uuid4()
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert bulk.existing_ids(SavedQuery, team.workspace.pk, [uuid.UUID(sq), missing]) == [
            uuid.UUID(sq)
        ]
        assert bulk.existing_ids(SavedQuery, uuid.uuid4(), [uuid.UUID(sq)]) == []
        assert bulk.existing_ids(Chat, team.workspace.pk, []) == []
        assert bulk.existing_ids(Connection, team.workspace.pk, [missing]) == []


def test_created_rows_carry_server_times(team: Team, alice: Device) -> None:
    before = timezone.now()
    sq = new_id()
    alice.push(alice.mutation("saved_query", sq, {"name": "q"}))
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = SavedQuery.objects.get(workspace_id=team.workspace.pk, id=sq)
    assert before <= row.created_at <= row.updated_at <= timezone.now()
    assert row.created_by_id == team.owner.pk


@pytest.mark.parametrize(
    "text",
    [
        "NULL",
        "null",
        "",
        " spaced ",
        "{a,b}",
        'say "hi"',
        "back\\slash\\",
        '\\"',
        "é ✓ 𝄞",
        "a\nb\tc",
    ],
)
def test_array_literals_keep_every_text_exactly(team: Team, alice: Device, text: str) -> None:
    sq = new_id()
    fields = {"name": text or "x", "description": text, "folder": text, "tags": [text or "t", ","]}
    assert _statuses(alice.push(alice.mutation("saved_query", sq, {**fields, "sql": text}))) == [
        ("applied", None)
    ]
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = SavedQuery.objects.get(workspace_id=team.workspace.pk, id=sq)
    assert (row.name, row.description, row.folder, row.tags) == (
        text or "x",
        text,
        text,
        [text or "t", ","],
    )
    assert adapter_for("saved_query").read(row, "sql") == text  # type: ignore[union-attr]


def test_unexpected_python_types_are_prepared_as_django_would() -> None:
    from connections.models import Connection as Model

    fields = {f.attname: f for f in Model._meta.concrete_fields}
    plan = bulk._plan(Model)
    assert plan is not None
    encoders = dict(plan[1])
    assert encoders["port"](True) == "1"
    assert encoders["port"](5432) == "5432"
    assert encoders["read_only"]("False") == "f"
    assert encoders["read_only"](1) == "t"
    assert encoders["read_only"](None) == "NULL"
    assert encoders["name"](12) == '"12"'
    assert encoders["name"](None) == "NULL"
    assert encoders["id"]("0b6c6a54-54f1-4a53-9a53-4f6f0e8f6a11") == (
        '"0b6c6a54-54f1-4a53-9a53-4f6f0e8f6a11"'
    )
    assert encoders["options"]({"a": 'x"y'}) == '"{\\"a\\": \\"x\\\\\\"y\\"}"'
    assert encoders["options"](None) == "NULL"
    assert fields["created_at"].get_internal_type() == "DateTimeField"
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert encoders["created_at"](when) == "2026-01-02T03:04:05.000006+00:00"


def test_a_row_created_earlier_in_the_push_is_read_with_its_encrypted_fields(
    team: Team, alice: Device
) -> None:
    # Creates encrypt in one pass before the insert; a later mutation on the same row must
    # still read what the create wrote: the same value is no change (no new version).
    sq, conn = new_id(), new_id()
    out = alice.push(
        alice.mutation("saved_query", sq, {"name": "a", "sql": "select 1"}),
        alice.mutation("connection", conn, {"name": "c", "engine": "postgres", "password": "pw"}),
        alice.mutation("saved_query", sq, {"sql": "select 1"}),
        alice.mutation("connection", conn, {"password": "pw", "ssh_passphrase": None}),
        alice.mutation("saved_query", sq, {"sql": "select 2"}),
    )
    versions = [r["version"] for r in out["results"]]
    assert _statuses(out) == [("applied", None)] * 5
    assert versions[2] == versions[0]  # unchanged sql: nothing written
    assert versions[3] == versions[1]
    assert versions[4] > versions[1]
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        row = SavedQuery.objects.get(workspace_id=team.workspace.pk, id=sq)
        stored = Connection.objects.get(workspace_id=team.workspace.pk, id=conn)
    assert adapter_for("saved_query").read(row, "sql") == "select 2"  # type: ignore[union-attr]
    assert adapter_for("connection").read(stored, "password") == "pw"  # type: ignore[union-attr]


def test_a_push_cut_by_a_gap_stores_what_it_processed(team: Team, alice: Device) -> None:
    m1 = alice.mutation("saved_query", new_id(), {"name": "one"})
    m2 = alice.mutation("saved_query", new_id(), {"name": ""})
    alice.mutation("saved_query", new_id(), {"name": "lost"})  # 3 never sent
    m4 = alice.mutation("saved_query", new_id(), {"name": "four"})
    cut = alice.push(m1, m2, m4, expect=409)
    assert [r["status"] for r in cut["error"]["results"]] == ["applied", "rejected"]
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        rows = list(MutationResult.objects.filter(client_id=alice.client_id))
    assert [(r.mutation_id, r.last_mutation_id) for r in rows] == [(1, 2)]
    again = alice.push(m1, m2)
    assert [(r["status"], r["original_status"]) for r in again["results"]] == [
        ("duplicate", "applied"),
        ("duplicate", "rejected"),
    ]


def test_replays_find_their_results_among_many_pushes(team: Team, alice: Device) -> None:
    pushes = [
        [alice.mutation("saved_query", new_id(), {"name": f"p{p}m{k}"}) for k in range(2)]
        for p in range(5)
    ]
    outs = [alice.push(*mutations) for mutations in pushes]
    replay = alice.push(pushes[1][1], pushes[1][0], pushes[4][0], pushes[2][1])
    expected = [outs[1]["results"][1], outs[1]["results"][0], outs[4]["results"][0]]
    expected.append(outs[2]["results"][1])
    assert [r["mutation_id"] for r in replay["results"]] == [4, 3, 9, 6]
    for got, original in zip(replay["results"], expected, strict=True):
        assert got == {**original, "status": "duplicate", "original_status": "applied"}
