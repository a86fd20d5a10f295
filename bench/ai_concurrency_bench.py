"""Many AI answers at once on one machine: AI_BENCH_STREAMS chats (default 500) stream at the
same time through web → Celery → Redis → SSE, each 200 tokens from the fake provider (its own
process) at AI_BENCH_PACE seconds a token (default 0.5 s: the streams last long enough for all
of them to be open together, and 1,000 tokens/s in total stays within what one small machine
relays; at 0.1 s the same machine delivers about 1,200 tokens/s and the streams queue).

Checks every stream (200 OK, `start` first, all 200 tokens in order, `finish`, `[DONE]`) and
prints: errors (the goal is zero), how many streams were open at once, the time to first token
under that load, and memory per open stream in the web processes, the Celery workers and Redis
(resident memory at the moment the most streams were open, minus the idle baseline, divided by
the number open). Writes bench/out/ai_concurrency.json.

    uv run python bench/ai_concurrency_bench.py   # AI_BENCH_STREAMS=500 AI_BENCH_PACE=0.5

Set-up: gunicorn with AI_BENCH_WEB_WORKERS uvicorn workers (default 2), AI_BENCH_CELERY
Celery worker processes (default 4) with enough threads between them for every stream, one
member's chats on a team plan whose quota is out of reach, and the per-member limits lifted.
The client opens the streams over a few seconds (AI_BENCH_OPENING at a time): a POST holds a
database connection only until its stream starts, and PostgreSQL allows 100.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ai_common import (
    bench_account,
    fake_provider,
    percentile,
    rss_mb,
    run_under_pytest,
    save,
    service_env,
    services,
    table,
    tokens,
)

STREAMS = int(os.environ.get("AI_BENCH_STREAMS", "500"))
PACE = float(os.environ.get("AI_BENCH_PACE", "0.5"))
WEB_WORKERS = int(os.environ.get("AI_BENCH_WEB_WORKERS", "2"))
CELERY = int(os.environ.get("AI_BENCH_CELERY", "4"))
OPENING = int(os.environ.get("AI_BENCH_OPENING", "25"))
TOKENS = 200
EXPECTED = "".join(tokens(TOKENS))


@dataclass
class Stream:
    started: float = 0.0
    first_token: float | None = None
    opened: bool = False
    done: bool = False
    error: str = ""
    deltas: list[str] = field(default_factory=list)


async def one(
    client: Any,
    api: str,
    headers: dict[str, str],
    gate: asyncio.Semaphore,
    registry: list[Stream] | None = None,
) -> Stream:
    state = Stream()
    if registry is not None:
        registry.append(state)
    chat_id = uuid.uuid4()
    body = {
        "id": str(chat_id),
        "trigger": "submit-message",
        "messages": [
            {"id": str(uuid.uuid4()), "role": "user", "parts": [{"type": "text", "text": "go"}]}
        ],
    }
    released = False
    await gate.acquire()
    try:
        state.started = time.perf_counter()
        async with client.stream(
            "POST", f"{api}/chats/{chat_id}/messages", json=body, headers=headers
        ) as response:
            if response.status_code != 200:
                state.error = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
                return state
            types: list[str] = []
            errors: list[str] = []
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                if line == "data: [DONE]":
                    state.done = True
                    break
                chunk = json.loads(line[6:])
                types.append(chunk["type"])
                if chunk["type"] == "error":
                    errors.append(str(chunk.get("errorText")))
                if chunk["type"] == "start":
                    state.opened = True
                    if not released:
                        gate.release()
                        released = True
                elif chunk["type"] == "text-delta":
                    if state.first_token is None:
                        state.first_token = time.perf_counter()
                    state.deltas.append(chunk["delta"])
            if not state.done:
                state.error = "no [DONE]"
            elif types[0] != "start" or types[-1] != "finish":
                state.error = f"chunks {types[:2]} … {types[-2:]} {errors}"
            elif "".join(state.deltas) != EXPECTED:
                state.error = f"text differs ({len(state.deltas)} deltas)"
    except Exception as error:
        state.error = f"{type(error).__name__}: {error}"
    finally:
        state.opened = False
        if not released:
            gate.release()
    return state


def run() -> dict[str, Any]:
    import httpx
    import redis
    from django.conf import settings

    from tests.ai.conftest import login

    user, workspace = bench_account()
    threads = math.ceil(STREAMS / CELERY) + 8
    env = service_env("", AI_STREAM_HEARTBEAT_SECONDS="15")
    with fake_provider(count=TOKENS, pace=PACE) as provider_url:
        env["ANTHROPIC_BASE_URL"] = provider_url
        with services(env, web_workers=WEB_WORKERS, celery_workers=CELERY, threads=threads) as (
            url,
            web_pids,
            worker_pids,
        ):
            api = f"{url}/api/v1/workspaces/{workspace.pk}"
            headers = {"Authorization": f"Bearer {login(url, user.email)}"}
            redis_client = redis.Redis.from_url(settings.REDIS_URL)

            async def main() -> tuple[list[Stream], dict[str, Any], float]:
                limits = httpx.Limits(max_connections=STREAMS + 50, max_keepalive_connections=0)
                async with httpx.AsyncClient(timeout=300, limits=limits) as client:
                    # Warm every process up (imports, connection pools, SDK clients), then
                    # measure the idle baseline.
                    gate = asyncio.Semaphore(OPENING)
                    warm = await asyncio.gather(
                        *(one(client, api, headers, gate) for _ in range(WEB_WORKERS * CELERY * 2))
                    )
                    assert all(not s.error for s in warm), [s.error for s in warm if s.error]
                    await asyncio.sleep(2)
                    baseline = {
                        "web": rss_mb(web_pids),
                        "worker": rss_mb(worker_pids),
                        "redis": redis_client.info("memory")["used_memory"] / 2**20,
                    }
                    peak: dict[str, Any] = {"open": 0}
                    streams_state: list[Stream] = []

                    async def sample() -> None:
                        while True:
                            await asyncio.sleep(0.5)
                            open_now = sum(1 for s in streams_state if s.opened)
                            if open_now >= peak["open"]:
                                peak.update(
                                    open=open_now,
                                    web=rss_mb(web_pids),
                                    worker=rss_mb(worker_pids),
                                    redis=redis_client.info("memory")["used_memory"] / 2**20,
                                )

                    started = time.perf_counter()
                    sampler = asyncio.create_task(sample())
                    results = await asyncio.gather(
                        *(one(client, api, headers, gate, streams_state) for _ in range(STREAMS))
                    )
                    sampler.cancel()
                    wall = time.perf_counter() - started
                    return list(results), {"baseline": baseline, "peak": peak}, wall

            results, memory, wall = asyncio.run(main())
            redis_client.close()

    errors = [s.error for s in results if s.error]
    first = [(s.first_token - s.started) * 1000 for s in results if s.first_token]
    peak, base = memory["peak"], memory["baseline"]
    open_at_peak = max(1, peak["open"])
    per_stream = {
        key: (peak.get(key, base[key]) - base[key]) * 1024 / open_at_peak
        for key in ("web", "worker", "redis")
    }
    result: dict[str, Any] = {
        "streams": STREAMS,
        "tokens_per_stream": TOKENS,
        "pace_ms": PACE * 1000,
        "web_workers": WEB_WORKERS,
        "celery_processes": CELERY,
        "celery_threads_each": threads,
        "errors": len(errors),
        "error_samples": errors[:5],
        "max_open_at_once": peak["open"],
        "wall_seconds": wall,
        "tokens_delivered_per_second": sum(len(s.deltas) for s in results) / wall,
        "first_token_ms": {"p50": percentile(first, 50), "p99": percentile(first, 99)},
        "memory_mb": {"baseline": base, "at_peak": {k: peak.get(k) for k in base}},
        "memory_kb_per_open_stream": per_stream,
    }
    table(
        f"{STREAMS} concurrent AI streams ({TOKENS} tokens at {PACE * 1000:g} ms each)",
        ["errors", "open at once", "first token p50 ms", "p99 ms", "wall s", "tokens/s"],
        [
            [
                len(errors),
                peak["open"],
                result["first_token_ms"]["p50"],
                result["first_token_ms"]["p99"],
                wall,
                result["tokens_delivered_per_second"],
            ]
        ],
    )
    table(
        "Memory per open stream (resident, KiB)",
        ["web (gunicorn+uvicorn)", "Celery workers", "Redis"],
        [[per_stream["web"], per_stream["worker"], per_stream["redis"]]],
    )
    print(json.dumps(result), flush=True)
    save("ai_concurrency", result)
    return result


def test_ai_concurrent_streams(transactional_db: None) -> None:
    result = run()
    assert result["errors"] == 0, result["error_samples"]


if __name__ == "__main__":
    run_under_pytest("bench/ai_concurrency_bench.py")
