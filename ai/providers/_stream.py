"""Run an SDK stream so that a stop request ends it within a fraction of a second.

Checking a cancel flag between chunks is not enough: a provider can be silent for many seconds
(time to first token of a large prompt, a reasoning model thinking) and the reading thread sits
in `recv()` all that time. So the SDK call and its iteration run in a helper thread that hands
events over a queue; the caller's thread polls the queue and the cancel signal. On cancel (or
when the caller drops the iterator) it shuts the socket down, which wakes the helper's blocked
`recv()` at once, and the server sees the connection close.

Shutting a socket down is only safe while the response still owns its connection: once the
response is closed the connection may already serve another request from the pool. The response's
`close()` is therefore wrapped to take the same lock as the abort, and the abort skips closed
responses.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2

from ai.providers.errors import from_exception
from ai.providers.types import CancelSignal, ProviderEvent, is_cancelled

POLL_SECONDS = 0.1


class StreamHandle:
    """Shared between the caller's thread (which may abort) and the helper (which reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._response: httpx2.Response | None = None
        self.aborted = False

    def attach(self, response: httpx2.Response) -> None:
        original_close = response.close
        lock = self._lock

        def close() -> None:
            with lock:
                original_close()

        response.close = close  # type: ignore[method-assign]  # wrapped under the lock
        with self._lock:
            self._response = response
            if self.aborted:
                _shutdown(response)

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            response = self._response
            if response is not None and not response.is_closed:
                _shutdown(response)


def _shutdown(response: httpx2.Response) -> None:
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown even for TLS: SSLSocket.shutdown would tear down the SSL
        # object under the reading thread's feet.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()

Producer = Callable[[StreamHandle], Iterator[ProviderEvent]]


def _work(produce: Producer, handle: StreamHandle, out: queue.SimpleQueue[object]) -> None:
    try:
        for event in produce(handle):
            if handle.aborted:
                break
            out.put(event)
    except BaseException as exc:
        if not handle.aborted:
            out.put(_Failed(exc))
    finally:
        out.put(_DONE)


def run_stream(
    produce: Producer, *, provider: str, cancel: CancelSignal | None
) -> Iterator[ProviderEvent]:
    """Iterate `produce(handle)` in a helper thread. Errors come out as ProviderError. A
    cancelled stream simply ends (no Finish event): the caller knows it asked to stop."""
    handle = StreamHandle()
    out: queue.SimpleQueue[object] = queue.SimpleQueue()
    # Log records and Sentry events from the helper keep the request/task context.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run,
        args=(_work, produce, handle, out),
        name=f"ai-stream-{provider}",
        daemon=True,
    )
    if is_cancelled(cancel):
        return
    thread.start()
    finished = False
    try:
        while True:
            try:
                item = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if is_cancelled(cancel):
                    return
                continue
            if item is _DONE:
                finished = True
                return
            if isinstance(item, _Failed):
                finished = True
                raise from_exception(item.error, provider=provider) from None
            if is_cancelled(cancel):
                return
            yield item  # type: ignore[misc]  # neither _DONE nor _Failed: an event
    finally:
        if not finished:
            handle.abort()
