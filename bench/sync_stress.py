"""Seed-reproducible sync stress: 16 devices x 2,000 operations (the property test's fleet,
tests/sync/simulation.py), then guarantees 1-5 are checked.

    uv run python bench/sync_stress.py [--seed 7] [--devices 16] [--operations 2000]

The same seed replays the same program (policy, operations, interleavings; thread timing of
the concurrent pushes may still differ, which is the point: the guarantees hold either way).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--devices", type=int, default=16)
    parser.add_argument("--operations", type=int, default=2000, help="per device")
    args = parser.parse_args()
    env = {
        **os.environ,
        "SYNC_STRESS": "1",
        "SYNC_STRESS_SEED": str(args.seed),
        "SYNC_STRESS_DEVICES": str(args.devices),
        "SYNC_STRESS_OPERATIONS": str(args.operations),
    }
    command = [
        str(ROOT / "scripts" / "pytest"),
        "tests/sync/test_property.py::test_stress",
        "-q",
        "-s",
        "--timeout=0",
        "-p",
        "no:logging",
        "-p",
        "no:warnings",
        "--no-header",
    ]
    sys.exit(subprocess.call(command, cwd=ROOT, env=env))


if __name__ == "__main__":
    main()
