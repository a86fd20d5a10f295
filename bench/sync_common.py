"""Shared plumbing of the sync benchmarks.

Each bench/sync_*.py runs through pytest (tests/sync/test_benchmarks.py) so that it
gets the project's real set-up: a fresh
migrated database, the application role under row-level security, Redis with its own key
prefix. Run one directly (`uv run python bench/sync_pull_bench.py`): it re-executes itself
through scripts/pytest. Tables go to stdout, PNG plots to bench/out/.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def run_under_pytest(test: str) -> None:
    """Entry point of `python bench/sync_x.py`: run its test in tests/sync/test_benchmarks.py
    (which calls back into the bench module) through the project's test harness."""
    command = [
        str(ROOT / "scripts" / "pytest"),
        f"tests/sync/test_benchmarks.py::{test}",
        "-q",
        "-s",
        "-p",
        "no:logging",
        "-p",
        "no:warnings",
        "--no-header",
        "--timeout=0",
    ]
    raise SystemExit(
        subprocess.call(
            command, cwd=ROOT, env={"LOG_LEVEL": "WARNING", **os.environ, "SYNC_BENCH": "1"}
        )
    )


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    text = "\n".join(lines)
    print("\n" + text + "\n", flush=True)
    return text


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def plot(name: str, draw: object) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4))
    draw(axes)  # type: ignore[operator]
    figure.tight_layout()
    path = OUT / f"{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"plot: {path.relative_to(ROOT)}", flush=True)
    return path


if __name__ == "__main__":
    sys.exit("run one of bench/sync_*_bench.py or bench/sync_stress.py")
