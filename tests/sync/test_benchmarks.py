"""Entry points of the sync benchmarks (bench/sync_*_bench.py): skipped in the suite, run by
the bench scripts with SYNC_BENCH=1 so they get the real database and Redis set-up."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("SYNC_BENCH"), reason="benchmarks: bench/sync_*.py"),
]


def _bench(name: str) -> Any:
    sys.path.insert(0, str(ROOT / "bench"))
    return importlib.import_module(name)


def test_pull_latency() -> None:
    assert _bench("sync_pull_bench").run() <= 1.3


def test_push_throughput() -> None:
    _bench("sync_push_bench").run()


def test_concurrent_pushes() -> None:
    _bench("sync_concurrent_bench").run()


def test_poke_latency() -> None:
    _bench("sync_poke_bench").run()


def test_secret_pull_cost() -> None:
    _bench("sync_secret_pull_bench").run()
