"""Generations in Redis: one Redis Stream of UI message stream chunks per generation.

Keys, all under `settings.REDIS_KEY_PREFIX + "ai:gen:<id>:"`:

- `chunks`  STREAM  one entry per chunk: `t` (the chunk's type) and `d` (its JSON), and a last
  entry `end` that marks the end. Entry ids double as SSE `id:` values (`<generation>:<entry>`).
- `meta`    HASH    workspace, user, chat, assistant message id, `status` (queued → running →
  done | aborted | failed), `created` and `hb` (the worker's last heartbeat), epoch seconds.
- `request` STRING  the generation's input (messages, context), read once by the worker.
- `stop`    STRING  present once someone asked the generation to stop.

The web process writes the first chunk (`start`) when it opens a generation, the worker appends
the rest, and any number of readers follow with blocking XREAD, from the first entry (resume)
or after a given entry (Last-Event-ID). Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

logger = logging.getLogger("ai.streams")

# Generation states
QUEUED, RUNNING, DONE, ABORTED, FAILED = "queued", "running", "done", "aborted", "failed"
LIVE_STATES = frozenset({QUEUED, RUNNING})

DONE_EVENT = b"data: [DONE]\n\n"
PING = b": ping\n\n"

_GENERATION_ID = re.compile(r"^[0-9a-f]{16,32}$")
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def new_generation_id() -> str:
    return secrets.token_hex(8)


def is_generation_id(value: str) -> bool:
    return bool(_GENERATION_ID.match(value or ""))


def _key(generation_id: str, name: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}ai:gen:{generation_id}:{name}"


def chunks_key(generation_id: str) -> str:
    return _key(generation_id, "chunks")


def meta_key(generation_id: str) -> str:
    return _key(generation_id, "meta")


def request_key(generation_id: str) -> str:
    return _key(generation_id, "request")


def stop_key(generation_id: str) -> str:
    return _key(generation_id, "stop")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------
_sync_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """The process's Redis client (a connection pool shared by threads)."""
    url = settings.REDIS_URL
    client = _sync_clients.get(url)
    if client is None:
        # Blocking: a worker thread waits for a free connection rather than failing its
        # generation when every one is busy (redis-py's pools hold 100 by default).
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=int(settings.AI_REDIS_MAX_CONNECTIONS),
            timeout=20,
            socket_connect_timeout=2,
            socket_timeout=10,
            health_check_interval=30,
        )
        client = _sync_clients[url] = redis.Redis(connection_pool=pool)
    return client


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def async_redis_client() -> aioredis.Redis:
    """A Redis client for the running event loop. A blocking XREAD holds its connection for up
    to a heartbeat, so the read timeout (5 s by default in redis-py) must outlast it."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        # Each open stream holds a connection while it waits: room for many (redis-py's pools
        # refuse a 101st connection by default).
        client = _async_clients[loop] = aioredis.Redis.from_url(
            settings.REDIS_URL,
            max_connections=int(settings.AI_REDIS_MAX_CONNECTIONS),
            socket_connect_timeout=2,
            socket_timeout=float(settings.AI_STREAM_HEARTBEAT_SECONDS) + 10,
            health_check_interval=30,
        )
    return client


def _running_ttl() -> int:
    """Keys of a live generation outlive the longest task, plus time to resume after it."""
    return int(
        settings.CELERY_TASK_TIME_LIMIT
        + settings.AI_STREAM_START_TIMEOUT_SECONDS
        + settings.AI_STREAM_RETENTION_SECONDS
    )


def _maxlen() -> int:
    return int(settings.AI_STREAM_MAX_CHUNKS) + 100


# ---------------------------------------------------------------------------------------------
# Opening, claiming, writing (web and worker)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GenerationInfo:
    generation_id: str
    workspace_id: str
    user_id: str
    chat_id: str
    message_id: str
    status: str
    created: float
    heartbeat: float

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATES


def generation_open(
    *,
    generation_id: str,
    workspace_id: str,
    user_id: str,
    chat_id: str,
    message_id: str,
    request: Mapping[str, Any],
    first_chunks: Iterable[Mapping[str, Any]],
) -> None:
    """Create the generation's keys with its first chunks, status `queued`."""
    now = time.time()
    ttl = _running_ttl()
    pipe = redis_client().pipeline(transaction=True)
    pipe.hset(
        meta_key(generation_id),
        mapping={
            "workspace_id": workspace_id,
            "user_id": user_id,
            "chat_id": chat_id,
            "message_id": message_id,
            "status": QUEUED,
            "created": f"{now:.3f}",
            "hb": f"{now:.3f}",
        },
    )
    pipe.set(request_key(generation_id), dumps(request), ex=ttl)
    for chunk in first_chunks:
        pipe.xadd(chunks_key(generation_id), {"t": chunk["type"], "d": dumps(chunk)})
    pipe.expire(meta_key(generation_id), ttl)
    pipe.expire(chunks_key(generation_id), ttl)
    pipe.execute()


def generation_info(generation_id: str) -> GenerationInfo | None:
    if not is_generation_id(generation_id):
        return None
    raw = redis_client().hgetall(meta_key(generation_id))
    return _info(generation_id, raw)


def generation_of(
    generation_id: str, *, workspace_id: Any, user_id: Any, chat_id: Any
) -> GenerationInfo | None:
    """The generation if it belongs to this chat of this member in this workspace, else None.

    Generation ids reach the web from clients (Last-Event-ID) and chat ids are unique per
    workspace only: a generation is only ever looked up through this binding, so one of another
    workspace, member or chat is treated exactly as an unknown one."""
    info = generation_info(generation_id)
    if info is None or (info.workspace_id, info.user_id, info.chat_id) != (
        str(workspace_id),
        str(user_id),
        str(chat_id),
    ):
        return None
    return info


def _info(generation_id: str, raw: Mapping[Any, Any]) -> GenerationInfo | None:
    if not raw:
        return None
    values = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    return GenerationInfo(
        generation_id=generation_id,
        workspace_id=values.get("workspace_id", ""),
        user_id=values.get("user_id", ""),
        chat_id=values.get("chat_id", ""),
        message_id=values.get("message_id", ""),
        status=values.get("status", ""),
        created=float(values.get("created") or 0),
        heartbeat=float(values.get("hb") or 0),
    )


# Moves queued → running and hands back the request, once: a second delivery of the task, or a
# generation already failed for want of a worker, gets nothing.
_CLAIM = """
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return false end
redis.call('HSET', KEYS[1], 'status', 'running', 'hb', ARGV[1])
local request = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
return request
"""


def generation_claim(generation_id: str) -> dict[str, Any] | None:
    """The worker takes the generation: its request, or None if it is not (any longer) queued."""
    client = redis_client()
    raw = client.eval(
        _CLAIM, 2, meta_key(generation_id), request_key(generation_id), f"{time.time():.3f}"
    )
    if not raw:
        return None
    request: dict[str, Any] = json.loads(raw)
    return request


# Heartbeat + "should I stop?" in one round trip: 1 = stop asked, 2 = no longer running.
_POLL = """
redis.call('HSET', KEYS[1], 'hb', ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 2 end
return 0
"""


class StopSignal:
    """The provider layer's cancel callable for one generation. Polled about every 0.1 s by the
    provider layer; asks Redis at most every `interval` seconds, and heartbeats as it does."""

    def __init__(self, generation_id: str, *, interval: float = 0.2) -> None:
        self.generation_id = generation_id
        self.interval = interval
        self.stopped = False
        self.reason = ""
        self._next_poll = 0.0

    def __call__(self) -> bool:
        if self.stopped:
            return True
        now = time.monotonic()
        if now < self._next_poll:
            return False
        self._next_poll = now + self.interval
        try:
            answer = redis_client().eval(
                _POLL,
                2,
                meta_key(self.generation_id),
                stop_key(self.generation_id),
                f"{time.time():.3f}",
            )
        except redis.RedisError:
            logger.warning("stop poll of generation %s failed", self.generation_id, exc_info=True)
            return False
        if answer:
            self.stopped = True
            self.reason = "stop" if int(answer) == 1 else "gone"
        return self.stopped


def generation_request_stop(generation_id: str) -> bool:
    """Ask a live generation to stop; False when it is not live. (The web looks the generation
    up through generation_of first: only its own chat's generation is stopped.)"""
    info = generation_info(generation_id)
    if info is None or not info.live:
        return False
    redis_client().set(stop_key(generation_id), "1", ex=_running_ttl())
    return True


class ChunkWriter:
    """Appends chunks to a generation's stream (worker side)."""

    def __init__(self, generation_id: str) -> None:
        self.generation_id = generation_id
        self.key = chunks_key(generation_id)
        self.count = 0
        self._client = redis_client()

    @property
    def full(self) -> bool:
        return self.count >= int(settings.AI_STREAM_MAX_CHUNKS)

    def add(self, *chunks: Mapping[str, Any], legacy_only: bool = False) -> None:
        """Append chunks. `legacy_only` chunks reach only clients before ai@6 (see
        adapt_chunk)."""
        if not chunks:
            return
        maxlen = _maxlen()
        entries = [_entry(chunk, legacy_only) for chunk in chunks]
        if len(entries) == 1:
            self._client.xadd(self.key, entries[0], maxlen=maxlen, approximate=True)
        else:
            pipe = self._client.pipeline(transaction=False)
            for entry in entries:
                pipe.xadd(self.key, entry, maxlen=maxlen, approximate=True)
            pipe.execute()
        self.count += len(chunks)

    def close(self, *chunks: Mapping[str, Any], status: str) -> None:
        """The last chunks, the end marker and the final status, at once; the keys then live
        for AI_STREAM_RETENTION_SECONDS so late readers can still replay them."""
        close_generation(self.generation_id, list(chunks), status=status, client=self._client)
        self.count += len(chunks)


def _entry(chunk: Mapping[str, Any], legacy_only: bool = False) -> dict[Any, Any]:
    entry: dict[Any, Any] = {"t": chunk["type"], "d": dumps(chunk)}
    if legacy_only:
        entry["v"] = "legacy"
    return entry


def close_generation(
    generation_id: str,
    chunks: list[Mapping[str, Any]],
    *,
    status: str,
    client: redis.Redis | None = None,
) -> None:
    client = client or redis_client()
    retention = int(settings.AI_STREAM_RETENTION_SECONDS)
    pipe = client.pipeline(transaction=True)
    for chunk in chunks:
        pipe.xadd(chunks_key(generation_id), {"t": chunk["type"], "d": dumps(chunk)})
    pipe.xadd(chunks_key(generation_id), {"end": "1"})
    pipe.hset(meta_key(generation_id), "status", status)
    pipe.expire(chunks_key(generation_id), retention)
    pipe.expire(meta_key(generation_id), retention)
    pipe.delete(request_key(generation_id), stop_key(generation_id))
    pipe.execute()


# Fails a generation that is still in `expected` state (and appends the error), atomically, so
# a worker that wakes up late and a reader that gave up on it cannot both finish it.
_FAIL = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed')
redis.call('XADD', KEYS[2], '*', 't', 'error', 'd', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'end', '1')
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3])
return 1
"""

LOST_MESSAGE = "The connection to this answer was lost. Reload to see the rest."
STALLED_MESSAGE = "The assistant stopped responding. Please try again."
NOT_STARTED_MESSAGE = "The assistant is not available right now. Please try again in a minute."


def _stall_verdict(info: GenerationInfo, now: float) -> str | None:
    """The error to fail a live generation with, if it has waited too long."""
    if info.status == QUEUED and now - info.created > settings.AI_STREAM_START_TIMEOUT_SECONDS:
        return NOT_STARTED_MESSAGE
    if info.status == RUNNING and now - info.heartbeat > settings.AI_STREAM_STALL_SECONDS:
        return STALLED_MESSAGE
    return None


def _fail_args(info: GenerationInfo, message: str) -> tuple[Any, ...]:
    gid = info.generation_id
    return (
        _FAIL,
        3,
        meta_key(gid),
        chunks_key(gid),
        request_key(gid),
        info.status,
        dumps({"type": "error", "errorText": message}),
        int(settings.AI_STREAM_RETENTION_SECONDS),
    )


def fail_if_stalled(info: GenerationInfo) -> bool:
    """Fail a generation nobody is working on (no worker took it, or its worker went silent).
    True if this call failed it."""
    message = _stall_verdict(info, time.time())
    if message is None:
        return False
    failed = bool(redis_client().eval(*_fail_args(info, message)))
    if failed:
        logger.warning("AI generation %s failed: %s", info.generation_id, message)
    return failed


def generation_is_live(generation_id: str) -> bool:
    """True while a generation is queued or running and not given up on."""
    info = generation_info(generation_id)
    if info is None or not info.live:
        return False
    return not fail_if_stalled(info)


# ---------------------------------------------------------------------------------------------
# Reading (the web's SSE views)
# ---------------------------------------------------------------------------------------------
def parse_event_id(value: str | None) -> tuple[str, str] | None:
    """`<generation>:<entry>` from a Last-Event-ID header, or None."""
    if not value:
        return None
    generation_id, _, entry = value.strip().partition(":")
    if is_generation_id(generation_id) and _ENTRY_ID.match(entry):
        return generation_id, entry
    return None


# ai@5 and ai@6.0.x parse chunks strictly: what they do not know must not reach them.
_LEGACY_DROP = frozenset({b"tool-approval-request"})


def client_protocol(headers: Mapping[str, str]) -> int:
    """The major version of the client's `ai` package (X-AI-SDK-Version, else the
    `ai-sdk/<version>` User-Agent suffix the SDK adds), or 5 when unknown."""
    for value in (headers.get("X-AI-SDK-Version", ""), headers.get("User-Agent", "")):
        match = re.search(r"(?:^|ai-sdk/|ai@)(\d{1,3})\.", value or "")
        if match:
            return int(match.group(1))
    return 5


def adapt_chunk(
    chunk_type: bytes, data: bytes, protocol: int, *, legacy_only: bool = False
) -> bytes | None:
    """The chunk as a client of `protocol` may receive it (None: leave it out).

    Chunks are stored in their fullest documented form. Before ai@6 a `finish` carries no
    `finishReason` (it is in messageMetadata as well), and there are no tool approvals: those
    clients get the call's `tool-input-available` instead, its input carrying the approval
    token (`legacy_only`). From ai@6 on that chunk is left out, so the SDK's onToolCall never
    fires for a statement that waits for approval; the `tool-approval-request` follows the
    call's streamed input."""
    if protocol >= 6:
        return None if legacy_only else data
    if chunk_type in _LEGACY_DROP:
        return None
    if chunk_type == b"finish":
        chunk = json.loads(data)
        chunk.pop("finishReason", None)
        return dumps(chunk).encode()
    return data


async def relay(
    generation_id: str,
    *,
    after: str = "0",
    protocol: int = 5,
    heartbeat: float | None = None,
) -> AsyncIterator[bytes]:
    """SSE bytes for one generation, from the entry after `after` ("0": from the first chunk)
    until its end marker, then `data: [DONE]`. Idle periods send `: ping` comments; a
    generation that nobody works on any more is failed (and its error relayed)."""
    client = async_redis_client()
    key = chunks_key(generation_id)
    prefix = f"id: {generation_id}:".encode()
    block_ms = max(1, int((heartbeat or settings.AI_STREAM_HEARTBEAT_SECONDS) * 1000))
    last = after
    while True:
        try:
            response: Any = await client.xread({key: last}, count=256, block=block_ms)
        except redis.RedisError:
            # The client can resume (GET .../stream, or EventSource's Last-Event-ID).
            logger.warning("AI stream %s: reading Redis failed", generation_id, exc_info=True)
            yield _error_event(LOST_MESSAGE)
            yield DONE_EVENT
            return
        if not response:
            yield PING
            raw = await client.hgetall(meta_key(generation_id))
            info = _info(generation_id, raw)
            if info is None:
                yield _error_event("This answer is no longer available.")
                yield DONE_EVENT
                return
            if info.live and _stall_verdict(info, time.time()):
                await client.eval(*_fail_args(info, _stall_verdict(info, time.time()) or ""))
            continue
        out: list[bytes] = []
        for entry_id, fields in response[0][1]:
            entry = entry_id.decode()
            last = entry
            if b"end" in fields:
                out.append(prefix + entry_id + b"\n" + DONE_EVENT)
                yield b"".join(out)
                return
            data = adapt_chunk(
                fields.get(b"t", b""),
                fields.get(b"d", b"{}"),
                protocol,
                legacy_only=b"v" in fields,
            )
            if data is not None:
                out.append(prefix + entry_id + b"\ndata: " + data + b"\n\n")
        if out:
            yield b"".join(out)


def _error_event(message: str) -> bytes:
    return b"data: " + dumps({"type": "error", "errorText": message}).encode() + b"\n\n"


def generation_has_more_sync(generation_id: str, after: str) -> bool:
    """True when a reader positioned at `after` would receive anything: the web answers 204 to
    an EventSource that has already seen the end."""
    client = redis_client()
    if not client.exists(chunks_key(generation_id)):
        return False
    return bool(client.xrange(chunks_key(generation_id), min=f"({after}", count=1))
