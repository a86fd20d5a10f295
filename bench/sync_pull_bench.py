"""Pull latency for 100 changed rows as the workspace grows: 1,000 / 100,000 / 1,000,000
synced rows (guarantee 6: the largest/smallest p50 ratio must stay at or below 1.3).

    uv run python bench/sync_pull_bench.py            # SYNC_BENCH_SIZES=1000,100000,1000000

Filler rows are inserted with one INSERT ... SELECT per step, through the versioning guard
(their versions are reserved in the same transaction); the 100 changed rows are real pushes
through the API. Each pull is the full endpoint (auth, RLS, snapshot, decryption, JSON).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_common import percentile, plot, run_under_pytest, table

SIZES = [int(s) for s in os.environ.get("SYNC_BENCH_SIZES", "1000,100000,1000000").split(",")]
PULLS = int(os.environ.get("SYNC_BENCH_PULLS", "60"))


def _fill(workspace_id: uuid.UUID, user_id: Any, count: int) -> None:
    from django.db import connection, transaction

    from core.tenancy import set_db_context

    done = 0
    while done < count:
        chunk = min(200_000, count - done)
        with transaction.atomic():
            set_db_context(workspace_id=workspace_id, user_id=user_id)
            with connection.cursor() as cursor:
                cursor.execute("SELECT core_reserve_versions(%s, %s)", [str(workspace_id), chunk])
                (first,) = cursor.fetchone()
                cursor.execute(
                    "INSERT INTO queries_savedquery (id, workspace_id, version, field_versions, "
                    "deleted, created_at, updated_at, name, description, tags, favorite, folder) "
                    "SELECT gen_random_uuid(), %s, %s + g, '{}', false, now(), now(), "
                    "'filler ' || g, '', '[]', false, '' FROM generate_series(0, %s - 1) g",
                    [str(workspace_id), first, chunk],
                )
        done += chunk


def _vacuum_analyze(database: str) -> None:
    """As the owner: the app role may not VACUUM or ANALYZE (PostgreSQL skips it with a mere
    warning), and left to autovacuum, a freshly filled million rows get vacuumed and analyzed
    in the middle of the timed pulls, competing for the machine's 2 cores."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from django.conf import settings

    parts = urlsplit(settings.DATABASE_OWNER_URL or settings.DATABASE_URL)
    url = urlunsplit(parts._replace(path=f"/{database}"))
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute("VACUUM (ANALYZE) queries_savedquery")


def run() -> float:
    """Prints the table, writes the plot; returns the largest/smallest p50 ratio."""
    from django.db import connection

    from tests.factories import UserFactory, make_workspace
    from tests.sync.conftest import HEADERS, Device, sync_url

    owner = UserFactory()
    workspace = make_workspace(owner, "Bench", plan="team", seats=10)
    from rest_framework.test import APIClient

    http = APIClient()
    http.force_authenticate(owner)
    writer = Device(http, workspace)
    rows: list[list[object]] = []
    samples: dict[int, list[float]] = {}
    total = 0
    for size in SIZES:
        _fill(workspace.pk, owner.pk, size - total - 100)
        total = size - 100
        _vacuum_analyze(connection.settings_dict["NAME"])
        cursor_before = writer.pull_page(limit=1)["cursor"]  # any cursor; replaced below
        # The cursor just before the 100 changes: pull to the end first.
        reader = Device(http, workspace)
        page = reader.pull_page(limit=1000)
        while page["has_more"]:
            page = reader.pull_page(page["cursor"], limit=1000)
        cursor_before = page["cursor"]
        ids = [str(uuid.uuid4()) for _ in range(100)]
        writer.push(
            *[
                writer.mutation("saved_query", i, {"name": "changed", "sql": "select 1"})
                for i in ids
            ]
        )
        total += 100
        url = sync_url(workspace, "pull")
        timings = []
        for attempt in range(PULLS + 5):
            started = time.perf_counter()
            response = http.get(
                url,
                {"client_id": reader.client_id, "cursor": cursor_before, "limit": 500},
                **HEADERS,
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200
            assert len(response.json()["changes"]) == 100
            if attempt >= 5:  # warm-up
                timings.append(elapsed)
        samples[size] = timings
        rows.append([size, percentile(timings, 50), percentile(timings, 99)])
    small, large = samples[SIZES[0]], samples[SIZES[-1]]
    ratio_p50 = percentile(large, 50) / percentile(small, 50)
    for row in rows:
        row.append(percentile(samples[int(row[0])], 50) / percentile(small, 50))  # type: ignore[arg-type]
    table("pull of 100 changed rows (ms)", ["synced rows", "p50", "p99", "p50 / smallest"], rows)
    print(f"ratio largest/smallest p50: {ratio_p50:.2f} (goal <= 1.3)")

    def draw(axes: Any) -> None:
        axes.plot(SIZES, [percentile(samples[s], 50) for s in SIZES], marker="o", label="p50")
        axes.plot(SIZES, [percentile(samples[s], 99) for s in SIZES], marker="o", label="p99")
        axes.set_xscale("log")
        axes.set_ylim(bottom=0)
        axes.set_xlabel("synced rows in the workspace")
        axes.set_ylabel("pull latency, 100 changed rows (ms)")
        axes.legend()
        axes.set_title("sync pull cost vs workspace size")

    plot("sync_pull_latency", draw)
    return ratio_p50


if __name__ == "__main__":
    run_under_pytest("test_pull_latency")
