"""A 1,000-mutation push: rows per second through the whole endpoint (auth, RLS, exactly-once
ledger, merge checks, encryption, versioning, stored results), against a raw psycopg
`executemany` insert of the same already-encrypted rows into the same table (goal: ratio at
least 0.25).

    uv run python bench/sync_push_bench.py        # SYNC_BENCH_ROUNDS=5
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_common import mean, percentile, plot, run_under_pytest, table

ROUNDS = int(os.environ.get("SYNC_BENCH_ROUNDS", "5"))
BATCH = 1000


def _raw_insert(workspace: Any, owner: Any) -> float:
    """Seconds for one executemany of BATCH encrypted saved queries (encryption not timed)."""
    import psycopg
    from django.db import transaction

    from core.crypto.fields import seal
    from core.tenancy import db_context
    from queries.models import SavedQuery
    from tests.conftest import app_database_url

    rows = []
    with db_context(workspace_id=workspace.pk, user_id=owner.pk), transaction.atomic():
        for k in range(BATCH):
            row = SavedQuery(workspace_id=workspace.pk, id=uuid.uuid4())
            seal(row, "sql_encrypted", f"select {k} from users where active")
            rows.append(row)
    with psycopg.connect(app_database_url()) as conn:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT set_config('app.workspace_id', %s, true)", [str(workspace.pk)])
            (first,) = conn.execute(
                "SELECT core_reserve_versions(%s, %s)", [str(workspace.pk), BATCH]
            ).fetchone()
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO queries_savedquery (id, workspace_id, version, field_versions, "
                    "deleted, created_at, updated_at, name, description, sql_encrypted, tags, "
                    "favorite, folder) VALUES (%s, %s, %s, '{}', false, now(), now(), %s, '', "
                    "%s, '[]', false, '')",
                    [
                        (r.id, workspace.pk, first + k, f"q{k}", r.sql_encrypted)
                        for k, r in enumerate(rows)
                    ],
                )
        return time.perf_counter() - started


def run() -> float:
    from rest_framework.test import APIClient

    from tests.factories import UserFactory, make_workspace
    from tests.sync.conftest import Device

    owner = UserFactory()
    workspace = make_workspace(owner, "Bench", plan="team", seats=10)
    http = APIClient()
    http.force_authenticate(owner)
    device = Device(http, workspace)
    device.push(
        *[
            device.mutation("saved_query", uuid.uuid4(), {"name": "warm", "sql": "x"})
            for _ in range(50)
        ]
    )
    push_times, raw_times = [], []
    for _ in range(ROUNDS):
        mutations = [
            device.mutation(
                "saved_query",
                uuid.uuid4(),
                {"name": f"q{k}", "sql": f"select {k} from users where active"},
            )
            for k in range(BATCH)
        ]
        started = time.perf_counter()
        out = device.push(*mutations)
        push_times.append(time.perf_counter() - started)
        assert {r["status"] for r in out["results"]} == {"applied"}
        raw_times.append(_raw_insert(workspace, owner))
    push_rate = BATCH / percentile(push_times, 50)
    raw_rate = BATCH / percentile(raw_times, 50)
    ratio = push_rate / raw_rate
    table(
        f"{BATCH}-mutation push vs raw executemany (median of {ROUNDS})",
        ["path", "seconds p50", "rows/s"],
        [
            ["sync push (API)", percentile(push_times, 50), push_rate],
            ["raw psycopg executemany", percentile(raw_times, 50), raw_rate],
        ],
    )
    print(f"ratio push/raw: {ratio:.2f} (goal >= 0.25); mean push {mean(push_times):.3f}s")

    def draw(axes: Any) -> None:
        axes.bar(["sync push", "raw executemany"], [push_rate, raw_rate], color=["C0", "C7"])
        axes.set_ylabel("rows per second")
        axes.set_title(f"{BATCH}-mutation push: ratio {ratio:.2f}")

    plot("sync_push_throughput", draw)
    return ratio


if __name__ == "__main__":
    run_under_pytest("test_push_throughput")
