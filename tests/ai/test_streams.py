"""Generations in Redis (ai/streams.py): the relay's SSE framing, per-client chunk shapes,
stalled generations, claims and stop flags. Real Redis, no database."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from django.test import override_settings

from ai import protocol, streams


def open_generation(**chunks: Any) -> str:
    generation_id = streams.new_generation_id()
    streams.generation_open(
        generation_id=generation_id,
        workspace_id="w",
        user_id="u",
        chat_id="c",
        message_id="m",
        request={"hello": "world"},
        first_chunks=[protocol.start("m")],
    )
    return generation_id


def collect(generation_id: str, **kwargs: Any) -> list[bytes]:
    async def run() -> list[bytes]:
        out = []
        async for piece in streams.relay(generation_id, **kwargs):
            out.append(piece)
        return out

    return asyncio.run(asyncio.wait_for(run(), timeout=10))


def data_lines(pieces: list[bytes]) -> list[str]:
    text = b"".join(pieces).decode()
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def test_relay_frames_each_chunk_with_an_id_and_ends_with_done() -> None:
    gid = open_generation()
    writer = streams.ChunkWriter(gid)
    writer.add(
        protocol.start_step(), protocol.text_start("t1"), protocol.text_delta("t1", "hé\nllo")
    )
    writer.close(protocol.text_end("t1"), protocol.finish("stop"), status=streams.DONE)

    raw = b"".join(collect(gid, protocol=6)).decode()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith(f"id: {gid}:") for e in events)
    assert events[-1].endswith("\ndata: [DONE]")
    chunks = [json.loads(line) for line in data_lines([raw.encode()])[:-1]]
    assert chunks[0] == {"type": "start", "messageId": "m"}
    assert chunks[3] == {"type": "text-delta", "id": "t1", "delta": "hé\nllo"}  # one data line
    assert chunks[-1] == {"type": "finish", "finishReason": "stop"}
    # Entry ids increase; the key expires after the retention period.
    ids = [e.split("\n")[0].rsplit(":", 1)[1] for e in events]
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    ttl = streams.redis_client().ttl(streams.chunks_key(gid))
    assert 0 < ttl <= 600


def test_relay_from_an_entry_and_for_old_clients() -> None:
    gid = open_generation()
    writer = streams.ChunkWriter(gid)
    writer.add(protocol.start_step())
    writer.add(protocol.tool_input_available("call", "run_readonly_query", {}), legacy_only=True)
    writer.add(protocol.tool_approval_request("tok", "call"))
    writer.close(
        protocol.finish("tool-calls", {"finish_reason": "tool-calls"}), status=streams.DONE
    )
    entries = streams.redis_client().xrange(streams.chunks_key(gid))
    after_start = entries[0][0].decode()

    legacy = [json.loads(d) for d in data_lines(collect(gid, after=after_start, protocol=5))[:-1]]
    assert legacy == [
        {"type": "start-step"},
        {
            "type": "tool-input-available",
            "toolCallId": "call",
            "toolName": "run_readonly_query",
            "input": {},
        },
        {"type": "finish", "messageMetadata": {"finish_reason": "tool-calls"}},
    ]
    modern = [json.loads(d) for d in data_lines(collect(gid, after=after_start, protocol=7))[:-1]]
    assert [c["type"] for c in modern] == ["start-step", "tool-approval-request", "finish"]


def test_relay_pings_while_waiting_and_follows_live_chunks() -> None:
    gid = open_generation()

    async def run() -> list[bytes]:
        out: list[bytes] = []

        async def produce() -> None:
            await asyncio.sleep(0.8)
            await asyncio.to_thread(
                streams.ChunkWriter(gid).close, protocol.finish("stop"), status=streams.DONE
            )

        task = asyncio.create_task(produce())
        async for piece in streams.relay(gid, protocol=6, heartbeat=0.1):
            out.append(piece)
        await task
        return out

    pieces = asyncio.run(asyncio.wait_for(run(), timeout=10))
    assert pieces.count(streams.PING) >= 2
    assert pieces[-1].endswith(streams.DONE_EVENT)


@override_settings(AI_STREAM_START_TIMEOUT_SECONDS=0.2)
def test_a_generation_no_worker_takes_is_failed_by_its_reader() -> None:
    gid = open_generation()
    time.sleep(0.3)
    lines = data_lines(collect(gid, protocol=6, heartbeat=0.1))
    assert json.loads(lines[-2]) == {"type": "error", "errorText": streams.NOT_STARTED_MESSAGE}
    assert lines[-1] == "[DONE]"
    assert streams.generation_info(gid).status == streams.FAILED  # type: ignore[union-attr]
    # A worker that turns up late finds nothing to do.
    assert streams.generation_claim(gid) is None


@override_settings(AI_STREAM_STALL_SECONDS=0.2)
def test_a_silent_worker_is_given_up_on_and_told_so() -> None:
    gid = open_generation()
    assert streams.generation_claim(gid) == {"hello": "world"}
    signal = streams.StopSignal(gid, interval=0)
    assert signal() is False
    time.sleep(0.3)
    assert not streams.generation_is_live(gid)  # fails it
    assert signal() is True
    assert signal.reason == "gone"


def test_claim_is_once_and_stop_is_seen_by_the_worker() -> None:
    gid = open_generation()
    assert streams.generation_claim(gid) == {"hello": "world"}
    assert streams.generation_claim(gid) is None
    assert streams.redis_client().get(streams.request_key(gid)) is None
    signal = streams.StopSignal(gid, interval=0)
    assert signal() is False
    assert streams.generation_request_stop(gid)
    assert signal() is True
    assert signal.reason == "stop"
    streams.ChunkWriter(gid).close(protocol.abort(), status=streams.ABORTED)
    assert not streams.generation_request_stop(gid)  # nothing live to stop


def test_an_expired_generation_ends_its_readers_with_an_error() -> None:
    gid = open_generation()
    streams.redis_client().delete(streams.meta_key(gid), streams.chunks_key(gid))
    lines = data_lines(collect(gid, protocol=6, heartbeat=0.1))
    assert json.loads(lines[0])["type"] == "error"
    assert lines[-1] == "[DONE]"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 5),
        ({"User-Agent": "ai-sdk/6.0.0 runtime/node.js/20"}, 6),
        ({"User-Agent": "Mozilla/5.0 ai-sdk/7.0.173"}, 7),
        ({"User-Agent": "ai-sdk/5.0.277"}, 5),
        ({"X-AI-SDK-Version": "7.0.1", "User-Agent": "ai-sdk/5.0.0"}, 7),
        ({"X-AI-SDK-Version": "ai@6.1.0"}, 6),
        ({"User-Agent": "curl/8.0"}, 5),
    ],
)
def test_client_protocol(headers: dict[str, str], expected: int) -> None:
    assert streams.client_protocol(headers) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0123456789abcdef:1700000000000-0", ("0123456789abcdef", "1700000000000-0")),
        ("0123456789abcdef:1700000000000", None),
        ("xyz:1-0", None),
        ("", None),
        (None, None),
        ("0123456789abcdef:1-0\nid: x", None),
    ],
)
def test_parse_event_id(value: str | None, expected: Any) -> None:
    assert streams.parse_event_id(value) == expected


@pytest.mark.slow
@override_settings(AI_STREAM_HEARTBEAT_SECONDS=7)
def test_a_reader_outlasts_redis_py_default_read_timeout() -> None:
    """redis-py's asyncio client times reads out after 5 s by default; a blocking XREAD waits up
    to a heartbeat (15 s in production), so a quiet provider must not cut the stream."""
    gid = open_generation()

    async def run() -> list[bytes]:
        async def produce() -> None:
            await asyncio.sleep(5.5)
            await asyncio.to_thread(
                streams.ChunkWriter(gid).close, protocol.finish("stop"), status=streams.DONE
            )

        task = asyncio.create_task(produce())
        out = [piece async for piece in streams.relay(gid, protocol=6)]
        await task
        return out

    pieces = asyncio.run(asyncio.wait_for(run(), timeout=20))
    lines = data_lines(pieces)
    assert json.loads(lines[-2]) == {"type": "finish", "finishReason": "stop"}
    assert streams.LOST_MESSAGE not in b"".join(pieces).decode()
