"""Shared plumbing of the AI benchmarks (bench/ai_latency_bench.py, bench/ai_concurrency_bench.py).

Each benchmark is a pytest test in its own file, run through the project's harness so it gets a
fresh migrated database, the application role under row-level security and its own Redis key
prefix: `uv run python bench/ai_latency_bench.py` re-executes itself as
`scripts/pytest bench/ai_latency_bench.py` (bench/conftest.py borrows the suite's database
set-up). The suite never collects these files: they are outside tests/.

Every process is real and separate: the fake LLM provider (tests/fakes/llm_server.py, paced),
gunicorn + uvicorn workers, Celery workers, Redis and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def run_under_pytest(path: str) -> None:
    command = [
        str(ROOT / "scripts" / "pytest"),
        path,
        "-q",
        "-s",
        "-p",
        "no:logging",
        "-p",
        "no:warnings",
        "--no-header",
        "--timeout=0",
    ]
    env = {"LOG_LEVEL": "WARNING", **os.environ, "PYTHONPATH": str(ROOT)}
    raise SystemExit(subprocess.call(command, cwd=ROOT, env=env))


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def fmt(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [list(map(str, header))] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    text = "\n".join(lines)
    print("\n" + text + "\n", flush=True)
    return text


def save(name: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def tokens(count: int) -> list[str]:
    return [f"t{i}" if i == 0 else f" t{i}" for i in range(count)]


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
_FAKE = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fakes import llm_server
from tests.fakes.llm_server import FakeLLMServer, text
# Like a real provider's edge, send each event at once: http.server leaves Nagle's algorithm on,
# which with the client's delayed ACK holds a small write back by ~40 ms.
llm_server._Handler.disable_nagle_algorithm = True
tokens = [f"t{{i}}" if i == 0 else f" t{{i}}" for i in range({count})]
reply = text(tokens, usage=(50, {count}))
server = FakeLLMServer(port={port}, token_delay={pace}, default_reply=reply)
server.start()
server._httpd.socket.listen(4096)  # room for hundreds of connections arriving at once
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


@contextmanager
def fake_provider(*, count: int, pace: float) -> Iterator[str]:
    """The fake LLM server in its own process, every request answered with `count` tokens, one
    every `pace` seconds. Yields its base URL."""
    from tests.conftest import free_port, stop

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _FAKE.format(root=str(ROOT), count=count, pace=pace, port=port)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def provider_settings(url: str) -> dict[str, Any]:
    """override_settings for the bench process's own (direct) provider calls."""
    return {
        "ANTHROPIC_API_KEY": "sk-ant-test-fake",
        "ANTHROPIC_BASE_URL": url,
        "OPENAI_API_KEY": None,
        "AI_COMPATIBLE_BASE_URL": None,
        "AI_PROVIDER_ORDER": ["anthropic"],
        "AI_MODEL_CHAT": {"anthropic": "claude-fake"},
        "AI_MODEL_SQL": {"anthropic": "claude-fake"},
        "AI_REQUEST_TIMEOUT_SECONDS": 60.0,
        "AI_MAX_RETRIES": 0,
    }


def service_env(url: str, **extra: str) -> dict[str, str]:
    from tests.conftest import subprocess_env

    return subprocess_env(
        ANTHROPIC_API_KEY="sk-ant-test-fake",
        ANTHROPIC_BASE_URL=url,
        AI_PROVIDER_ORDER="anthropic",
        AI_MODEL_CHAT="anthropic:claude-fake",
        AI_MODEL_SQL="anthropic:claude-fake",
        AI_REQUEST_TIMEOUT_SECONDS="60",
        AI_MAX_RETRIES="0",
        AI_CELERY_QUEUE=f"ai-bench-{os.getpid()}",
        AI_RATE_LIMIT_PER_MINUTE="1000000",
        AI_MAX_ACTIVE_GENERATIONS_PER_USER="1000000",
        RATE_LIMIT_LOGIN="1000/m/ip",
        LOG_LEVEL=os.environ.get("AI_BENCH_SERVICE_LOG_LEVEL", "WARNING"),
        LOG_FORMAT="json",
        **({"AI_PROFILE": "1"} if os.environ.get("AI_PROFILE") else {}),
        **extra,
    )


@contextmanager
def services(
    env: dict[str, str],
    *,
    web_workers: int = 1,
    celery_workers: int = 1,
    threads: int = 16,
    web_settings: str | None = None,
) -> Iterator[tuple[str, list[int], list[int]]]:
    """gunicorn (uvicorn workers) and Celery workers (thread pools) on the AI queue. Yields the
    web URL, the pids of the web worker processes and of the Celery worker processes."""
    import psutil

    from config.celery import app
    from tests.conftest import free_port, stop, wait_for_port

    port = free_port()
    OUT.mkdir(parents=True, exist_ok=True)
    log = open(OUT / "ai-bench-services.log", "wb")  # noqa: SIM115 - closed below
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.asgi:application",
            "-c",
            "config/gunicorn.py",
            "--workers",
            str(web_workers),
        ],
        cwd=ROOT,
        env={
            **env,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            **(
                {
                    "DJANGO_SETTINGS_MODULE": web_settings,
                    "PYTHONPATH": str(ROOT / "bench"),
                }
                if web_settings
                else {}
            ),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    workers = []
    names = []
    for n in range(celery_workers):
        name = f"ai-bench-{os.getpid()}-{n}@localhost"
        names.append(name)
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "threads",
                    "--concurrency",
                    str(threads),
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "-Q",
                    env["AI_CELERY_QUEUE"],
                    "-n",
                    name,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        wait_for_port(port, web)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answered = app.control.ping(destination=names, timeout=1.0) or []
            if len(answered) == len(names):
                break
        else:
            raise RuntimeError("Celery workers did not answer")
        web_pids = [c.pid for c in psutil.Process(web.pid).children()]
        yield f"http://127.0.0.1:{port}", web_pids, [w.pid for w in workers]
    finally:
        for proc in [web, *workers]:
            stop(proc)
        log.close()


def rss_mb(pids: Sequence[int]) -> float:
    import psutil

    total = 0
    for pid in pids:
        with suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def bench_account() -> tuple[Any, Any]:
    """A member of a team workspace whose quota no benchmark reaches."""
    from tests.factories import UserFactory, make_workspace

    user = UserFactory(email=f"bench-{time.time_ns()}@example.com")
    workspace = make_workspace(user, "Bench", plan="team", seats=100_000)
    return user, workspace
