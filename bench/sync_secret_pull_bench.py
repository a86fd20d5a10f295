"""What the secret delivery ledger costs a pull: one page of 100 connections, each with all five
secret fields set, pulled through the full endpoint (auth, RLS, snapshot, decryption, JSON, and
the ledger's one INSERT ... ON CONFLICT DO NOTHING in a transaction of its own).

    uv run python bench/sync_secret_pull_bench.py        # SYNC_BENCH_PULLS=60

Rows of the table:
- viewer: no secrets in the page, nothing to record (the secret fields are not decrypted);
- member, ledger off: the same page with secrets, `_delivery` patched to find nothing, so the
  pull records nothing (what a pull cost before the ledger);
- member, same device again: the ledger statement runs, every row already recorded;
- member, a new device each pull: the ledger statement inserts 100 rows.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_common import percentile, run_under_pytest, table

PULLS = int(os.environ.get("SYNC_BENCH_PULLS", "60"))
WARMUP = 5
CONNECTIONS = 100
END_KEY = "\n-----END PRIVATE KEY-----"


def _secrets(index: int) -> dict[str, str]:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + ("A" * 64 + "\n") * 40
    return {
        "password": f"pw-{index}-{uuid.uuid4().hex}",
        "connection_string": f"postgres://app:pw{index}@db{index}.internal:5432/prod",
        "ssh_private_key": key + "-----END OPENSSH PRIVATE KEY-----\n",
        "ssh_passphrase": f"phrase-{uuid.uuid4().hex}",
        "tls_client_key": "-----BEGIN PRIVATE KEY-----\n" + "B" * 1600 + END_KEY,
    }


def _interleaved(cases: dict[str, Any]) -> dict[str, list[float]]:
    """Each case once per round, in turn, so drift of the machine (other test suites share
    its 2 cores) falls on every case alike."""
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for attempt in range(PULLS + WARMUP):
        for name, pull in cases.items():
            started = time.perf_counter()
            pull()
            elapsed = (time.perf_counter() - started) * 1000
            if attempt >= WARMUP:
                timings[name].append(elapsed)
    return timings


def run() -> None:
    from rest_framework.test import APIClient

    from sync import selectors
    from tests.factories import UserFactory, add_member, make_workspace
    from tests.sync.conftest import HEADERS, Device, sync_url

    owner, member, viewer = UserFactory(), UserFactory(), UserFactory()
    workspace = make_workspace(owner, "Bench", plan="team", seats=1000)
    add_member(workspace, member, "member")
    add_member(workspace, viewer, "viewer")
    clients = {}
    for user, name in ((owner, "owner"), (member, "member"), (viewer, "viewer")):
        http = APIClient()
        http.force_authenticate(user)
        clients[name] = http
    writer = Device(clients["owner"], workspace)
    writer.push(
        *[
            writer.mutation(
                "connection",
                str(uuid.uuid4()),
                {"name": f"db{i}", "engine": "postgres", "host": f"db{i}", **_secrets(i)},
            )
            for i in range(CONNECTIONS)
        ]
    )
    url = sync_url(workspace, "pull")

    def pull(who: str, client_id: str, *, secrets: bool) -> None:
        response = clients[who].get(url, {"client_id": client_id, "limit": 500}, **HEADERS)
        assert response.status_code == 200
        changes = response.json()["changes"]
        assert len(changes) == CONNECTIONS
        assert ("password" in changes[0]["data"]) is secrets

    same = f"bench-{uuid.uuid4().hex[:12]}"
    fresh = iter(f"bench-{uuid.uuid4().hex[:12]}" for _ in range(PULLS + WARMUP))
    real_delivery = selectors._delivery

    def ledger_off() -> None:
        selectors._delivery = lambda *args: None  # type: ignore[assignment]  # finds nothing
        try:
            pull("member", same, secrets=True)
        finally:
            selectors._delivery = real_delivery  # type: ignore[assignment]

    samples = _interleaved(
        {
            "viewer (no secrets, nothing recorded)": lambda: pull("viewer", same, secrets=False),
            "member, ledger off": ledger_off,
            "member, same device again (0 new rows)": lambda: pull("member", same, secrets=True),
            "member, a new device each pull (100 new rows)": lambda: pull(
                "member", next(fresh), secrets=True
            ),
        }
    )
    base = percentile(samples["member, ledger off"], 50)
    rows = [
        [name, percentile(t, 50), percentile(t, 99), percentile(t, 50) - base]
        for name, t in samples.items()
    ]
    table(
        f"pull of {CONNECTIONS} connections with secrets, one page (ms, {PULLS} pulls each)",
        ["case", "p50", "p99", "p50 - ledger off"],
        rows,
    )


if __name__ == "__main__":
    run_under_pytest("test_secret_pull_cost")
