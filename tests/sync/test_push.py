"""Push: exactly-once, gaps, per-mutation rejections, request-level errors and limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache

from connections.models import Connection
from core.tenancy import db_context
from queries.models import SavedQuery
from sync.models import SyncClient
from tests.sync.conftest import HEADERS, Device, device, new_id, sync_url
from tests.workspaces.conftest import Team


def _conn(name: str = "prod", **extra: Any) -> dict[str, Any]:
    return {"name": name, "engine": "postgres", **extra}


def _count(team: Team, model: Any) -> int:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        return int(model.objects.filter(workspace_id=team.workspace.pk).count())


def _last(team: Team, dev: Device) -> int:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        found = SyncClient.objects.filter(client_id=dev.client_id).first()
        return found.last_mutation_id if found else 0


def test_replay_after_a_lost_response_applies_once(team: Team, alice: Device) -> None:
    mutations = [
        alice.mutation("connection", new_id(), _conn()),
        alice.mutation("saved_query", new_id(), {"name": "q", "sql": "select 1"}),
    ]
    first = alice.push(*mutations)  # the client never sees this response...
    retry = alice.push(*mutations)  # ...and sends the same mutations again
    assert [r["status"] for r in first["results"]] == ["applied", "applied"]
    assert [r["status"] for r in retry["results"]] == ["duplicate", "duplicate"]
    assert [r["original_status"] for r in retry["results"]] == ["applied", "applied"]
    assert [r["version"] for r in retry["results"]] == [r["version"] for r in first["results"]]
    assert retry["last_mutation_id"] == 2
    assert _count(team, Connection) == 1
    assert _count(team, SavedQuery) == 1


def test_replay_mixed_with_new_mutations(team: Team, alice: Device) -> None:
    m1 = alice.mutation("connection", new_id(), _conn())
    alice.push(m1)
    m2 = alice.mutation("connection", new_id(), _conn("two"))
    out = alice.push(m1, m2)
    assert [r["status"] for r in out["results"]] == ["duplicate", "applied"]
    assert _count(team, Connection) == 2


def test_gap_answers_409_and_applies_nothing_from_the_gap_on(team: Team, alice: Device) -> None:
    m1 = alice.mutation("connection", new_id(), _conn("one"))
    m2 = alice.mutation("connection", new_id(), _conn("two"))
    alice.mutation("connection", new_id(), _conn("lost"))  # mutation 3 never sent
    m4 = alice.mutation("connection", new_id(), _conn("four"))
    out = alice.push(m1, m2, m4, expect=409)
    assert out["error"]["code"] == "mutation_gap"
    assert out["error"]["expected_mutation_id"] == 3
    assert _count(team, Connection) == 2  # 1 and 2 applied, 4 not
    assert _last(team, alice) == 2


def test_gap_on_the_first_mutation(team: Team, alice: Device) -> None:
    alice.next_mutation = 5
    out = alice.push(alice.mutation("connection", new_id(), _conn()), expect=409)
    assert out["error"]["expected_mutation_id"] == 1
    assert _count(team, Connection) == 0


def test_rejected_mutation_still_advances_the_queue(team: Team, alice: Device) -> None:
    out = alice.push(
        alice.mutation("widget", new_id(), {"x": 1}),
        alice.mutation("connection", new_id(), {"name": "x"}),  # engine missing
        alice.mutation("connection", new_id(), _conn(colour="red")),
        alice.mutation("connection", new_id(), _conn(port=0)),
        alice.mutation("connection", new_id(), _conn()),
    )
    statuses = [(r["status"], r.get("error", {}).get("code")) for r in out["results"]]
    assert statuses == [
        ("rejected", "unknown_entity"),
        ("rejected", "invalid"),
        ("rejected", "unknown_field"),
        ("rejected", "invalid"),
        ("applied", None),
    ]
    assert out["results"][1]["error"]["field"] == "engine"
    assert out["results"][3]["error"]["field"] == "port"
    assert out["last_mutation_id"] == 5


def test_viewer_is_rejected_per_mutation(team: Team) -> None:
    vera = device(team, "viewer")
    out = vera.push(vera.mutation("saved_query", new_id(), {"name": "q"}))
    assert out["results"][0]["status"] == "rejected"
    assert out["results"][0]["error"]["code"] == "forbidden"
    assert out["last_mutation_id"] == 1
    assert _count(team, SavedQuery) == 0


def test_conflict_entity_cannot_be_pushed(alice: Device) -> None:
    out = alice.push(alice.mutation("conflict", new_id(), {}))
    assert out["results"][0]["error"]["code"] == "forbidden"


def test_append_only_rows_are_immutable_but_deletable(alice: Device) -> None:
    hid = new_id()
    alice.push(alice.mutation("query_history", hid, {"sql": "select 1", "rows": 1}))
    same = alice.push(alice.mutation("query_history", hid, {"sql": "select 1"}, base=1))
    changed = alice.push(alice.mutation("query_history", hid, {"sql": "select 2"}, base=1))
    deleted = alice.push(alice.mutation("query_history", hid, op="delete", base=1))
    assert same["results"][0]["status"] == "applied"
    assert changed["results"][0]["error"]["code"] == "immutable"
    assert deleted["results"][0]["status"] == "applied"


def test_references_must_be_visible(team: Team, alice: Device, bob: Device) -> None:
    chat = new_id()
    bob.push(bob.mutation("chat", chat, {"title": "bob's"}))
    out = alice.push(
        alice.mutation("chat_message", new_id(), {"chat_id": chat, "role": "user", "parts": []}),
        alice.mutation("saved_query", new_id(), {"name": "q", "connection_id": new_id()}),
    )
    assert [r["error"]["code"] for r in out["results"]] == ["not_found", "not_found"]
    assert [r["error"]["field"] for r in out["results"]] == ["chat_id", "connection_id"]


def test_private_id_of_another_member_is_refused(alice: Device, bob: Device) -> None:
    chat = new_id()
    bob.push(bob.mutation("chat", chat, {"title": "bob's"}))
    out = alice.push(alice.mutation("chat", chat, {"title": "mine"}))
    assert out["results"][0]["error"]["code"] == "forbidden"


def test_plan_limit_on_connections(team: Team, alice: Device, settings: Any) -> None:
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "team": {**settings.PLAN_LIMITS["team"], "connections": 1},
    }
    out = alice.push(
        alice.mutation("connection", new_id(), _conn("a")),
        alice.mutation("connection", new_id(), _conn("b")),
    )
    assert out["results"][0]["status"] == "applied"
    assert out["results"][1]["error"]["code"] == "plan_limit"


def test_plan_limit_on_devices(team: Team, settings: Any) -> None:
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "team": {**settings.PLAN_LIMITS["team"], "sync_devices": 1, "per_seat": []},
    }
    device(team, "owner").push()
    second = device(team, "member")
    out = second.push(second.mutation("connection", new_id(), _conn()), expect=402)
    assert out["error"]["code"] == "plan_limit"
    assert _last(team, second) == 0


def test_secrets_stripped_when_sync_secrets_is_off(team: Team, alice: Device, bob: Device) -> None:
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        team.workspace.sync_secrets = False
        team.workspace.save()
    cid = new_id()
    out = alice.push(alice.mutation("connection", cid, _conn(password="pw", host="db")))
    assert out["results"][0]["status"] == "applied"
    assert out["results"][0]["stripped_fields"] == ["password"]
    change = bob.pull_all()[0]
    assert change["data"]["host"] == "db"
    assert "password" not in change["data"]


def test_secrets_travel_when_sync_secrets_is_on(alice: Device, bob: Device) -> None:
    alice.push(alice.mutation("connection", new_id(), _conn(password="pw")))
    assert bob.pull_all()[0]["data"]["password"] == "pw"


# --- request-level errors: nothing counted ----------------------------------------------------


def _raw_push(dev: Device, body: Any, **headers: Any) -> Any:
    payload = body if isinstance(body, str) else json.dumps(body)
    return dev.http.generic(
        "POST",
        sync_url(dev.workspace, "push"),
        payload,
        content_type="application/json",
        **{**HEADERS, **headers},
    )


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        {"mutations": []},
        {"client_id": "short", "mutations": []},
        {"client_id": "client-0001", "mutations": [{"mutation_id": 0, "entity": "chat"}]},
        {"client_id": "client-0001", "mutations": [{"mutation_id": "1", "entity": "chat"}]},
        {"client_id": "client-0001", "mutations": [{"mutation_id": True}]},
        {"client_id": "client-0001", "mutations": "nope"},
        [1, 2],
    ],
)
def test_bad_requests_answer_400_and_count_nothing(team: Team, alice: Device, body: Any) -> None:
    response = _raw_push(alice, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("invalid_request", "malformed_request")
    assert error["message"]
    assert error["request_id"]
    with db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk):
        assert not SyncClient.objects.exists()


@pytest.mark.parametrize("header", [None, "2", "0", "v1"])
def test_unknown_protocol_answers_426(alice: Device, header: str | None) -> None:
    headers = {} if header is None else {"HTTP_X_SYNC_PROTOCOL": header}
    response = alice.http.post(
        sync_url(alice.workspace, "push"),
        {"client_id": alice.client_id, "mutations": []},
        format="json",
        **headers,
    )
    assert response.status_code == 426
    assert response.json()["error"]["code"] == "unsupported_protocol"
    pull = alice.http.get(sync_url(alice.workspace, "pull"), {"client_id": alice.client_id})
    assert pull.status_code == 426


def test_too_many_mutations_answers_413(alice: Device, settings: Any) -> None:
    settings.SYNC_MAX_MUTATIONS = 3
    mutations = [alice.mutation("connection", new_id(), _conn()) for _ in range(4)]
    out = alice.push(*mutations, expect=413)
    assert out["error"]["code"] == "too_many_mutations"


def test_default_mutation_limit_is_1000(alice: Device) -> None:
    mutations = [
        {"mutation_id": i, "entity": "x", "id": new_id(), "op": "delete"} for i in range(1, 1002)
    ]
    response = _raw_push(alice, {"client_id": alice.client_id, "mutations": mutations})
    assert response.status_code == 413


def test_too_large_body_answers_413(alice: Device, settings: Any) -> None:
    settings.SYNC_MAX_PUSH_BYTES = 2048
    out = alice.push(
        alice.mutation("saved_query", new_id(), {"name": "q", "sql": "x" * 4000}), expect=413
    )
    assert out["error"]["code"] == "request_too_large"


def test_rate_limit_answers_429_with_retry_after(alice: Device, settings: Any) -> None:
    settings.SYNC_PUSH_RATE = "2/minute"
    cache.clear()
    alice.push()
    alice.push()
    response = _raw_push(alice, {"client_id": alice.client_id, "mutations": []})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "rate_limited"
    cache.clear()
