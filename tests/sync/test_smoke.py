from __future__ import annotations

from tests.sync.conftest import Device, new_id


def test_push_then_pull(alice: Device, bob: Device) -> None:
    cid, qid = new_id(), new_id()
    out = alice.push(
        alice.mutation("connection", cid, {"name": "prod", "engine": "postgres", "password": "pw"}),
        alice.mutation("saved_query", qid, {"name": "q", "sql": "select 1", "connection_id": cid}),
    )
    assert [r["status"] for r in out["results"]] == ["applied", "applied"], out
    changes = bob.pull_all()
    assert {c["id"] for c in changes} == {cid, qid}
    conn = next(c for c in changes if c["id"] == cid)
    assert conn["data"]["password"] == "pw"
