"""A simulated fleet of offline devices for the property test and the stress mode.

Each device keeps a local copy built only from what it pulls, queues its offline creates,
edits and deletes as mutations, and pushes and pulls through the real API. `check` asserts
guarantees 1 to 5 of the contract at the end of a run.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from rest_framework.test import APIClient

from tests.sync.conftest import HEADERS, sync_url

ENTITIES = ("connection", "saved_query", "query_history", "chat", "chat_message")
PRIVATE = {"query_history", "chat", "chat_message"}
APPEND_ONLY = {"query_history", "chat_message"}


@dataclass
class SimDevice:
    name: str
    user: Any
    role: str
    workspace: Any
    client_id: str = field(default_factory=lambda: f"sim-{uuid.uuid4().hex[:16]}")
    http: APIClient = field(default_factory=APIClient)
    # the server's rows as pulled (what the device shows once its queue is empty)
    local: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # rows this device created or edited offline (optimistic), and those it deleted
    drafts: set[tuple[str, str]] = field(default_factory=set)
    gone: set[tuple[str, str]] = field(default_factory=set)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    queue: list[dict[str, Any]] = field(default_factory=list)
    next_mutation: int = 1
    cursor: str | None = None
    # every mutation made, by id, and every non-duplicate result, by mutation id
    made: dict[int, dict[str, Any]] = field(default_factory=dict)
    results: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulled_ids: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.http.force_authenticate(self.user)

    # --- offline operations -------------------------------------------------------------

    def _queue(self, mutation: dict[str, Any]) -> None:
        mutation["mutation_id"] = self.next_mutation
        self.next_mutation += 1
        self.made[mutation["mutation_id"]] = mutation
        self.queue.append(mutation)

    def _targets(self) -> list[tuple[str, str]]:
        keys = {k for k in self.local if k[0] in ENTITIES} | self.drafts
        return sorted(keys - self.gone)

    def _mine(self, entity: str) -> list[str]:
        return [i for (e, i) in self._targets() if e == entity]

    def create(self, entity: str, rng: random.Random) -> None:
        row_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        fields: dict[str, Any]
        if entity == "connection":
            fields = {
                "name": f"c{rng.randint(0, 99)}",
                "engine": "postgres",
                "password": f"pw{rng.randint(0, 9)}",
            }
        elif entity == "saved_query":
            connections_known = self._mine("connection")
            fields = {
                "name": f"q{rng.randint(0, 99)}",
                "sql": f"select {rng.randint(0, 9)}",
                "connection_id": rng.choice(connections_known)
                if connections_known and rng.random() < 0.5
                else None,
            }
        elif entity == "query_history":
            fields = {"sql": f"select {rng.randint(0, 99)}", "rows": rng.randint(0, 5)}
        elif entity == "chat":
            fields = {"title": f"t{rng.randint(0, 99)}"}
        else:
            chats = self._mine("chat")
            if not chats:
                self.create("chat", rng)
                chats = self._mine("chat")
            fields = {
                "chat_id": rng.choice(chats),
                "role": "user",
                "parts": [{"type": "text", "text": f"m{rng.randint(0, 99)}"}],
            }
        self._queue(
            {"entity": entity, "id": row_id, "op": "upsert", "base_version": None, "fields": fields}
        )
        self.drafts.add((entity, row_id))

    def edit(self, rng: random.Random) -> None:
        keys = self._targets()
        if not keys:
            return
        entity, row_id = rng.choice(keys)
        options: dict[str, list[Any]] = {
            "connection": [
                ("name", f"c{rng.randint(0, 9)}"),
                ("host", f"h{rng.randint(0, 3)}"),
                ("password", f"pw{rng.randint(0, 3)}"),
                ("ssh_private_key", f"k{rng.randint(0, 3)}"),
                ("port", rng.randint(1, 3)),
            ],
            "saved_query": [
                ("name", f"q{rng.randint(0, 9)}"),
                ("sql", f"select {rng.randint(0, 3)}"),
                ("folder", f"f{rng.randint(0, 3)}"),
                ("favorite", rng.random() < 0.5),
            ],
            "query_history": [("sql", f"select {rng.randint(0, 3)}")],
            "chat": [("title", f"t{rng.randint(0, 3)}")],
            "chat_message": [("parts", [{"type": "text", "text": f"e{rng.randint(0, 3)}"}])],
        }
        picks = rng.sample(options[entity], k=rng.randint(1, len(options[entity])))
        fields = dict(picks)
        self._queue(
            {
                "entity": entity,
                "id": row_id,
                "op": "upsert",
                "base_version": self.versions.get((entity, row_id)),
                "fields": fields,
            }
        )
        self.drafts.add((entity, row_id))

    def delete(self, rng: random.Random) -> None:
        keys = self._targets()
        if not keys:
            return
        entity, row_id = rng.choice(keys)
        self._queue(
            {
                "entity": entity,
                "id": row_id,
                "op": "delete",
                "base_version": self.versions.get((entity, row_id)),
            }
        )
        self.gone.add((entity, row_id))

    # --- online -------------------------------------------------------------------------

    def push(self, *, lose_response: bool = False, batch: int = 100) -> None:
        if not self.queue and not lose_response:
            return
        body = {
            "client_id": self.client_id,
            "device": {"name": self.name},
            "mutations": self.queue[:batch],
        }
        response = self.http.post(sync_url(self.workspace, "push"), body, format="json", **HEADERS)
        assert response.status_code == 200, response.content
        out = response.json()
        for result in out["results"]:
            if result["status"] != "duplicate":
                self.results.setdefault(result["mutation_id"], []).append(result)
        if lose_response:
            return  # the client never saw it: it keeps its queue and retries later
        last = out["last_mutation_id"]
        self.queue = [m for m in self.queue if m["mutation_id"] > last]

    def pull(self) -> None:
        while True:
            params: dict[str, Any] = {"client_id": self.client_id, "limit": 50}
            if self.cursor:
                params["cursor"] = self.cursor
            response = self.http.get(sync_url(self.workspace, "pull"), params, **HEADERS)
            assert response.status_code == 200, response.content
            page = response.json()
            if page["reset"]:
                self.local.clear()
                self.versions.clear()
            for change in page["changes"]:
                key = (change["entity"], change["id"])
                self.pulled_ids.add(key)
                if change["op"] == "delete":
                    self.local.pop(key, None)
                    self.versions[key] = change["version"]
                else:
                    self.local[key] = change["data"]
                    self.versions[key] = change["version"]
            self.cursor = page["cursor"]
            if not page["has_more"]:
                # Pending local mutations stay queued; the local copy shows the server's
                # state until they are pushed and pulled back.
                return


def run_concurrently(devices: list[SimDevice], action: str) -> None:
    errors: list[BaseException] = []

    def work(dev: SimDevice) -> None:
        try:
            getattr(dev, action)()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]


def perform(devices: list[SimDevice], step: tuple[Any, ...], rng: random.Random) -> None:
    kind = step[0]
    if kind == "create":
        devices[step[1]].create(ENTITIES[step[2]], rng)
    elif kind == "edit":
        devices[step[1]].edit(rng)
    elif kind == "delete":
        devices[step[1]].delete(rng)
    elif kind == "push":
        devices[step[1]].push()
    elif kind == "lost_push":
        devices[step[1]].push(lose_response=True)
    elif kind == "pull":
        devices[step[1]].pull()
    elif kind == "concurrent_push":
        chosen = sorted({i % len(devices) for i in step[1]})
        run_concurrently([devices[i] for i in chosen], "push")
    elif kind == "concurrent_pull":
        chosen = sorted({i % len(devices) for i in step[1]})
        run_concurrently([devices[i] for i in chosen], "pull")


def settle(devices: list[SimDevice]) -> None:
    for dev in devices:
        while dev.queue:
            dev.push()
    for dev in devices:
        dev.pull()


def fresh_state(dev: SimDevice) -> dict[tuple[str, str], dict[str, Any]]:
    twin = SimDevice(f"{dev.name}-fresh", dev.user, dev.role, dev.workspace)
    twin.pull()
    return twin.local


ALLOWED_REJECTIONS = {"immutable"}


def check(devices: list[SimDevice], *, owners: dict[str, Any], policy: str) -> Counter[str]:
    """Guarantees 1-5 after every device pushed and pulled to the end. Returns the statuses."""
    statuses: Counter[str] = Counter()
    server: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    owners = dict(owners)
    for dev in devices:
        key = str(dev.user.pk)
        if key not in server:
            server[key] = fresh_state(dev)
            # A keep_both copy of a private row is a new row of the member who pushed: its
            # conflict record (private to that member too) names it.
            for (entity, _), record in server[key].items():
                if entity == "conflict" and record["copy_id"] and record["entity"] in PRIVATE:
                    owners.setdefault(record["copy_id"], dev.user.pk)
        # 1 and 4: a device that pulled to the end holds exactly the server's state (and its
        # incremental pulls missed nothing the fresh snapshot has).
        assert dev.local == server[key], f"{dev.name} diverged from the server"
        # 5: private rows of other members never reached this device.
        for entity, row_id in dev.pulled_ids:
            if entity in PRIVATE:
                assert owners[row_id] == dev.user.pk, f"{dev.name} saw {entity} {row_id}"
    for dev in devices:
        state = server[str(dev.user.pk)]
        conflicts = {i: d for (e, i), d in state.items() if e == "conflict"}
        # 2: every mutation processed exactly once, none lost in the queue.
        assert set(dev.results) == set(dev.made), f"{dev.name}: unprocessed mutations"
        for mutation_id, results in dev.results.items():
            assert len(results) == 1, f"{dev.name} #{mutation_id} processed {len(results)}x"
            result = results[0]
            mutation = dev.made[mutation_id]
            statuses[result["status"]] += 1
            # 3: applied, or kept in a conflict record, or rejected with a documented reason.
            if result["status"] == "rejected":
                code = result["error"]["code"]
                if dev.role == "viewer":
                    assert code == "forbidden"
                else:
                    assert code in ALLOWED_REJECTIONS, result
                    assert mutation["entity"] in APPEND_ONLY
            elif result["status"] == "conflict":
                record = conflicts[result["conflict_id"]]
                assert record["entity_id"] == mutation["id"]
                if mutation["op"] == "delete":
                    assert record["client_fields"] == {"deleted": True}
                else:
                    for name in record["conflicting_fields"]:
                        assert record["client_fields"][name] == mutation["fields"][name]
                assert record["status"] == ("open" if policy == "manual" else "resolved")
            else:
                assert result["status"] in ("applied", "merged"), result
    return statuses
