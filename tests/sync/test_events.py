"""GET events on the real server stack (gunicorn + uvicorn worker, a subprocess): pokes come
after commit only, only to members who can see the change, with heartbeats in between."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.db import transaction
from django.test import Client

from connections.models import SECRET_FIELDS
from core.tenancy import db_context
from core.versioning import VersionClock
from queries.models import SavedQuery
from tests.conftest import ROOT, free_port, stop, subprocess_env, wait_for_port
from tests.connections.helpers import canary
from tests.sync.conftest import device, new_id
from tests.workspaces.conftest import Team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
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
        env=subprocess_env(HOST="127.0.0.1", PORT=str(port), SYNC_EVENTS_PING_SECONDS="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


class Stream:
    """Reads one SSE stream on a thread; events land in a queue as (kind, payload)."""

    def __init__(self, url: str, cookies: dict[str, str], protocol: str | None = "1") -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.lines: list[str] = []  # every line received, as sent
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        headers = {"X-Sync-Protocol": protocol} if protocol else {}
        self.thread = threading.Thread(target=self._run, args=(url, cookies, headers), daemon=True)
        self.thread.start()
        assert self.ready.wait(15)

    def _run(self, url: str, cookies: dict[str, str], headers: dict[str, str]) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(20.0), cookies=cookies) as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            self.status = response.status_code
            self.headers = dict(response.headers)
            self.ready.set()
            if response.status_code != 200:
                self.events.put(("body", json.loads(response.read())))
                return
            kind = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                self.lines.append(line)
                if line.startswith(": ping"):
                    self.events.put(("ping", None))
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.put((kind, json.loads(line.removeprefix("data: "))))

    def next(self, kind: str = "poke", timeout: float = 10) -> Any:
        while True:
            got_kind, payload = self.events.get(timeout=timeout)
            if got_kind == kind:
                return payload

    def close(self) -> None:
        self._stop.set()


def _cookies(user: Any) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


def _url(server: str, workspace: Any, query: str = "") -> str:
    return f"{server}/api/v1/workspaces/{workspace.pk}/sync/events{query}"


def test_pokes_follow_commits_and_visibility(server: str, team: Team) -> None:
    alice_stream = Stream(_url(server, team.workspace), _cookies(team.owner))
    bob_stream = Stream(_url(server, team.workspace), _cookies(team.member))
    assert alice_stream.status == 200
    assert alice_stream.headers["content-type"].startswith("text/event-stream")
    alice_stream.next()  # the poke every stream starts with
    bob_stream.next()

    # A rolled-back write pokes nobody.
    class Rollback(Exception):
        pass

    def write_then_fail() -> None:
        with (
            db_context(workspace_id=team.workspace.pk, user_id=team.owner.pk),
            transaction.atomic(),
        ):
            clock = VersionClock.reserve(team.workspace.pk)
            SavedQuery.objects.create(
                workspace=team.workspace, id=uuid.uuid4(), name="never", version=clock.next()
            )
            raise Rollback

    with pytest.raises(Rollback):
        write_then_fail()

    # Bob's private chat pokes Bob only.
    bob = device(team, "member")
    private = bob.push(bob.mutation("chat", new_id(), {"title": "mine"}))["version"]
    assert bob_stream.next()["version"] == private

    # A shared change pokes both, after its commit.
    alice = device(team, "owner")
    shared = alice.push(alice.mutation("saved_query", new_id(), {"name": "q"}))["version"]
    assert alice_stream.next()["version"] == shared  # nothing earlier reached Alice
    assert bob_stream.next()["version"] == shared
    alice_stream.close()
    bob_stream.close()


def test_a_poke_carries_a_version_and_nothing_else(server: str, team: Team) -> None:
    """Sync events are a channel no secret takes (docs/permissions.md, "Secrets by role"): a
    viewer's stream, while a member writes a connection with a canary in every secret field."""
    stream = Stream(_url(server, team.workspace), _cookies(team.viewer))
    stream.next()
    alice = device(team, "owner")
    secrets = {name: canary(name) for name in SECRET_FIELDS}
    fields = {"name": "prod", "engine": "postgres", **secrets}
    version = alice.push(alice.mutation("connection", new_id(), fields))["version"]
    assert stream.next() == {"version": version}
    stream.close()
    received = "\n".join(stream.lines)
    assert f'"version": {version}' in received or f'"version":{version}' in received
    assert [name for name, value in secrets.items() if value in received] == []


def test_heartbeat(server: str, team: Team) -> None:
    stream = Stream(_url(server, team.workspace), _cookies(team.viewer))
    stream.next()
    assert stream.next("ping", timeout=5) is None
    stream.close()


def test_protocol_in_the_query_string_and_errors(server: str, team: Team) -> None:
    ok = Stream(_url(server, team.workspace, "?protocol=1"), _cookies(team.owner), protocol=None)
    assert ok.status == 200
    ok.close()
    missing = Stream(_url(server, team.workspace), _cookies(team.owner), protocol=None)
    assert missing.status == 426
    assert missing.next("body")["error"]["code"] == "unsupported_protocol"
    outsider = Stream(_url(server, team.workspace), _cookies(team.outsider))
    assert outsider.status == 404
    # The workspace id is the only id a client chooses here: someone else's workspace answers
    # exactly what an unknown one does.
    unknown = Stream(
        f"{server}/api/v1/workspaces/{uuid.uuid4()}/sync/events", _cookies(team.outsider)
    )
    assert unknown.status == 404
    bodies = [stream.next("body")["error"] for stream in (outsider, unknown)]
    for body in bodies:
        body.pop("request_id")
    assert bodies[0] == bodies[1] == {"code": "not_found", "message": "Workspace not found."}
    anonymous = Stream(_url(server, team.workspace), {})
    assert anonymous.status == 401
