"""Cost of row-level security on a scoped list query.

The same query the API runs for a list page (one workspace's newest 50 rows, by the
workspace's index) over 1,000,000 rows in 1,000 workspaces, as the application role, with the
tenant policy FORCED versus row-level security disabled. Prints latency percentiles and the
ratio (goal: at most 1.2).

    uv run python bench/rls_bench.py [--rows 1000000] [--workspaces 1000] [--queries 3000]

Uses the services scripts/services.py finds (local PostgreSQL, else the embedded one); creates
and drops its own database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.tenancy.operations import enable_rls_sql, tenant_predicate  # noqa: E402

DB = "dbw_bench_rls"
QUERY = (
    "SELECT id, name, created_at FROM bench_items WHERE workspace_id = %s "
    "ORDER BY created_at DESC, id DESC LIMIT 50"
)


def service_urls() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "services.py"), "--for", "test"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


def with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def setup(owner_url: str, superuser_url: str, rows: int, workspaces: int) -> list[uuid.UUID]:
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DB)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER dbw_owner").format(sql.Identifier(DB)))
    ids = [uuid.uuid4() for _ in range(workspaces)]
    per = rows // workspaces
    with psycopg.connect(with_db(owner_url, DB), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_items (id uuid PRIMARY KEY, workspace_id uuid NOT NULL, "
            "name text NOT NULL, created_at timestamptz NOT NULL, payload text NOT NULL)"
        )
        started = time.perf_counter()
        with conn.cursor().copy(
            "COPY bench_items (id, workspace_id, name, created_at, payload) FROM STDIN"
        ) as copy:
            for w in ids:
                for i in range(per):
                    copy.write_row(
                        (
                            uuid.uuid4(),
                            w,
                            f"query {i}",
                            f"2026-01-01 00:00:{i % 60:02d}+00",
                            "x" * 64,
                        )
                    )
        conn.execute(
            "CREATE INDEX bench_items_ws ON bench_items (workspace_id, created_at DESC, id DESC)"
        )
        conn.execute("GRANT SELECT ON bench_items TO dbw_app")
        conn.execute("VACUUM ANALYZE bench_items")
        print(f"loaded {per * workspaces:,} rows in {time.perf_counter() - started:.1f}s")
    return ids


def set_rls(owner_url: str, enabled: bool) -> None:
    with psycopg.connect(with_db(owner_url, DB), autocommit=True) as conn:
        if enabled:
            for statement in enable_rls_sql("bench_items", using=tenant_predicate()):
                conn.execute(statement)  # type: ignore[arg-type]
        else:
            conn.execute("ALTER TABLE bench_items DISABLE ROW LEVEL SECURITY")


def run(app_url: str, ids: list[uuid.UUID], queries: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    timings = []
    with psycopg.connect(with_db(app_url, DB)) as conn:
        conn.prepare_threshold = 0
        for n in range(queries + 200):
            workspace = rng.choice(ids)
            started = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT set_config('app.workspace_id', %s, true)", [str(workspace)])
                rows = conn.execute(QUERY, [workspace]).fetchall()
            elapsed = time.perf_counter() - started
            assert len(rows) == 50, len(rows)
            if n >= 200:  # warm-up
                timings.append(elapsed * 1000)
    return timings


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workspaces", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = service_urls()
    app_url = os.environ.get("DATABASE_URL") or env["DATABASE_URL"]
    owner_url = os.environ.get("DATABASE_OWNER_URL") or env["DATABASE_OWNER_URL"]
    superuser_url = with_db(owner_url.replace("dbw_owner@", "postgres@"), "postgres")
    ids = setup(owner_url, superuser_url, args.rows, args.workspaces)
    try:
        results: dict[str, list[float]] = {"rls_forced": [], "rls_disabled": []}
        # Alternate rounds so drift (cache warmth, other load) hits both sides alike.
        for round_ in range(args.rounds):
            for mode in ("rls_disabled", "rls_forced"):
                set_rls(owner_url, mode == "rls_forced")
                results[mode] += run(app_url, ids, args.queries, seed=round_)
        with psycopg.connect(with_db(app_url, DB)) as conn, conn.transaction():
            conn.execute("SELECT set_config('app.workspace_id', %s, true)", [str(ids[0])])
            plan = conn.execute("EXPLAIN " + QUERY, [ids[0]]).fetchall()  # type: ignore[arg-type]
        print("\nplan with RLS forced:")
        for (line,) in plan:
            print("   ", line)
        print(f"\n{'mode':<14}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
        for mode, values in results.items():
            print(
                f"{mode:<14}{pct(values, 50):>10.3f}{pct(values, 90):>10.3f}"
                f"{pct(values, 99):>10.3f}{statistics.mean(values):>10.3f}"
            )
        ratio_p50 = pct(results["rls_forced"], 50) / pct(results["rls_disabled"], 50)
        ratio_mean = statistics.mean(results["rls_forced"]) / statistics.mean(
            results["rls_disabled"]
        )
        print(f"\nratio forced/disabled: p50 {ratio_p50:.3f}, mean {ratio_mean:.3f} (goal <= 1.2)")
    finally:
        with psycopg.connect(superuser_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DB)))


if __name__ == "__main__":
    main()
