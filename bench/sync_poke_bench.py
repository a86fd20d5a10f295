"""Poke latency: from a write's commit to the `poke` event arriving on the SSE stream of the
real server (gunicorn + uvicorn worker, a subprocess), p50 and p99.

    uv run python bench/sync_poke_bench.py         # SYNC_BENCH_POKES=200

The commit time is taken by an on_commit callback registered before the poke's own, so it runs
right after COMMIT returns and just before the publish.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_common import percentile, plot, run_under_pytest, table

POKES = int(os.environ.get("SYNC_BENCH_POKES", "200"))


def run() -> dict[str, float]:
    import httpx
    from django.db import transaction
    from django.test import Client

    from core.tenancy import db_context
    from core.versioning import VersionClock
    from queries.models import SavedQuery
    from tests.conftest import ROOT, free_port, stop, subprocess_env, wait_for_port
    from tests.factories import UserFactory, make_workspace

    owner = UserFactory()
    workspace = make_workspace(owner, "Bench", plan="team", seats=10)
    login = Client()
    login.force_login(owner)
    cookies = {"sessionid": login.cookies["sessionid"].value}
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.asgi:application",
            "-c",
            "config/gunicorn.py",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=subprocess_env(HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    arrivals: queue.Queue[tuple[int, float]] = queue.Queue()
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        url = f"http://127.0.0.1:{port}/api/v1/workspaces/{workspace.pk}/sync/events"
        with (
            httpx.Client(timeout=30, cookies=cookies) as http,
            http.stream("GET", url, headers={"X-Sync-Protocol": "1"}) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data: "):
                    arrivals.put((json.loads(line[6:])["version"], time.perf_counter()))
                    ready.set()
                if done.is_set():
                    return

    try:
        wait_for_port(port, proc)
        threading.Thread(target=listen, daemon=True).start()
        assert ready.wait(15)
        arrivals.get()  # the stream's first poke
        latencies = []
        for _ in range(POKES):
            committed: dict[str, float] = {}
            with db_context(workspace_id=workspace.pk, user_id=owner.pk):
                transaction.on_commit(lambda c=committed: c.update(at=time.perf_counter()))
                clock = VersionClock.reserve(workspace.pk)
                version = clock.next()
                SavedQuery.objects.create(
                    workspace=workspace, id=uuid.uuid4(), name="p", version=version
                )
            while True:
                got, at = arrivals.get(timeout=10)
                if got == version:
                    latencies.append((at - committed["at"]) * 1000)
                    break
            time.sleep(0.01)
        done.set()
    finally:
        stop(proc)
    result = {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}
    table(
        "poke latency, commit -> SSE delivery (real server)",
        ["pokes", "p50 ms", "p99 ms", "max ms"],
        [[len(latencies), result["p50_ms"], result["p99_ms"], max(latencies)]],
    )

    def draw(axes: Any) -> None:
        axes.hist(latencies, bins=40)
        axes.axvline(result["p50_ms"], color="C2", label=f"p50 {result['p50_ms']:.1f} ms")
        axes.axvline(result["p99_ms"], color="C3", label=f"p99 {result['p99_ms']:.1f} ms")
        axes.set_xlabel("commit to poke delivery (ms)")
        axes.set_ylabel("pokes")
        axes.legend()
        axes.set_title("sync poke latency")

    plot("sync_poke_latency", draw)
    return result


if __name__ == "__main__":
    run_under_pytest("test_poke_latency")
