"""8 devices pushing 100-mutation batches into one workspace at once: pushes per second, p99
latency, errors (must be zero). Each device is a thread with its own database connection.

    uv run python bench/sync_concurrent_bench.py   # SYNC_BENCH_DEVICES=8 SYNC_BENCH_BATCHES=15
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_common import percentile, plot, run_under_pytest, table

DEVICES = int(os.environ.get("SYNC_BENCH_DEVICES", "8"))
BATCHES = int(os.environ.get("SYNC_BENCH_BATCHES", "15"))


def run() -> dict[str, float]:
    from django.db import connections
    from rest_framework.test import APIClient

    from tests.factories import UserFactory, add_member, make_workspace
    from tests.sync.conftest import HEADERS, Device, sync_url

    owner = UserFactory()
    workspace = make_workspace(owner, "Bench", plan="team", seats=20)
    devices = []
    for k in range(DEVICES):
        user = owner if k == 0 else UserFactory()
        if k:
            add_member(workspace, user, "member")
        http = APIClient()
        http.force_authenticate(user)
        devices.append(Device(http, workspace))
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(DEVICES)

    def work(device: Device) -> None:
        try:
            start.wait()
            for _ in range(BATCHES):
                mutations = [
                    device.mutation("saved_query", uuid.uuid4(), {"name": "q", "sql": "select 1"})
                    for _ in range(100)
                ]
                began = time.perf_counter()
                response = device.http.post(
                    sync_url(workspace, "push"),
                    {"client_id": device.client_id, "mutations": mutations},
                    format="json",
                    **HEADERS,
                )
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took * 1000)
                    if response.status_code != 200 or any(
                        r["status"] != "applied" for r in response.json()["results"]
                    ):
                        errors.append(str(response.status_code))
        except Exception as exc:
            with lock:
                errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in devices]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    pushes = DEVICES * BATCHES
    result = {
        "pushes_per_s": pushes / wall,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": float(len(errors)),
    }
    table(
        f"{DEVICES} devices x {BATCHES} pushes of 100 mutations, one workspace",
        ["pushes", "wall s", "pushes/s", "mutations/s", "p50 ms", "p99 ms", "errors"],
        [
            [
                pushes,
                wall,
                result["pushes_per_s"],
                result["pushes_per_s"] * 100,
                result["p50_ms"],
                result["p99_ms"],
                len(errors),
            ]
        ],
    )

    def draw(axes: Any) -> None:
        axes.hist(latencies, bins=30)
        axes.axvline(result["p99_ms"], color="C3", label=f"p99 {result['p99_ms']:.0f} ms")
        axes.set_xlabel("push latency (ms), 100 mutations")
        axes.set_ylabel("pushes")
        axes.legend()
        axes.set_title(f"{DEVICES} concurrent devices: {result['pushes_per_s']:.1f} pushes/s")

    plot("sync_concurrent_pushes", draw)
    assert not errors, errors[:5]
    return result


if __name__ == "__main__":
    run_under_pytest("test_concurrent_pushes")
