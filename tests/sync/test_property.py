"""Property-based: random offline fleets on real PostgreSQL with real threads.

Five devices of three members and a viewer make random creates, edits and deletes over every
entity type, push and pull in random interleavings (some pushes concurrent, some responses
lost), under a random conflict policy; then every device pushes and pulls to the end, and
guarantees 1 to 5 must hold (tests/sync/simulation.py). A device of another workspace runs
alongside and must see nothing of this one, nor leak into it.

`SYNC_STRESS=1 SYNC_STRESS_SEED=n` runs the seed-reproducible stress mode instead (16 devices
x 2,000 operations); bench/sync_stress.py drives it.
"""

from __future__ import annotations

import os
import random
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.tenancy import db_context
from tests.factories import UserFactory, add_member, make_workspace
from tests.sync.simulation import ENTITIES, SimDevice, check, perform, settle

pytestmark = pytest.mark.django_db(transaction=True)

POLICIES = ("last_write_wins", "keep_both", "manual")


def _fleet(policy: str, count: int) -> tuple[list[SimDevice], SimDevice, Any]:
    alice, bob, adam, vera, charlie = (UserFactory() for _ in range(5))
    workspace = make_workspace(alice, "Fleet", plan="team", seats=50)
    add_member(workspace, bob, "member")
    add_member(workspace, adam, "admin")
    add_member(workspace, vera, "viewer")
    with db_context(workspace_id=workspace.pk, user_id=alice.pk):
        workspace.sync_conflict_policy = policy
        workspace.save()
    people = [
        (alice, "owner"),
        (bob, "member"),
        (adam, "admin"),
        (alice, "owner"),
        (vera, "viewer"),
        (bob, "member"),
    ]
    devices = [
        SimDevice(f"d{i}", *people[i % len(people)], workspace=workspace) for i in range(count)
    ]
    other = make_workspace(charlie, "Elsewhere", plan="team")
    outsider = SimDevice("outsider", charlie, "owner", other)
    return devices, outsider, workspace


def _owners(devices: list[SimDevice]) -> dict[str, Any]:
    owners: dict[str, Any] = {}
    for dev in devices:
        for mutation in dev.made.values():
            owners.setdefault(mutation["id"], dev.user.pk)
    return owners


def _isolated(devices: list[SimDevice], outsider: SimDevice) -> None:
    theirs = {m["id"] for m in outsider.made.values()}
    for dev in devices:
        assert not {i for _, i in dev.pulled_ids} & theirs
    ours = {m["id"] for d in devices for m in d.made.values()}
    assert not {i for _, i in outsider.pulled_ids} & ours


step = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 4), st.integers(0, len(ENTITIES) - 1)),
    st.tuples(st.sampled_from(["edit", "delete", "push", "pull", "lost_push"]), st.integers(0, 4)),
    st.tuples(
        st.sampled_from(["concurrent_push", "concurrent_pull"]),
        st.lists(st.integers(0, 4), min_size=2, max_size=5),
    ),
)


@pytest.mark.skipif(bool(os.environ.get("SYNC_STRESS")), reason="stress mode runs alone")
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    policy=st.sampled_from(POLICIES),
    program=st.lists(step, min_size=15, max_size=45),
    seed=st.integers(0, 2**32),
)
def test_random_fleets_keep_the_guarantees(
    settings: Any, policy: str, program: list[tuple[Any, ...]], seed: int
) -> None:
    settings.SYNC_PUSH_RATE = settings.SYNC_PULL_RATE = "100000/minute"
    rng = random.Random(seed)
    devices, outsider, _ = _fleet(policy, 5)
    for entity in range(len(ENTITIES)):  # every entity type appears in every run
        devices[entity % 4].create(ENTITIES[entity], rng)
    outsider.create("saved_query", rng)
    outsider.create("chat", rng)
    for action in program:
        perform(devices, action, rng)
    outsider.push()
    settle(devices)
    outsider.pull()
    statuses = check(devices, owners=_owners(devices), policy=policy)
    assert statuses["applied"] > 0
    _isolated(devices, outsider)


@pytest.mark.skipif(not os.environ.get("SYNC_STRESS"), reason="set SYNC_STRESS=1 (bench)")
def test_stress(settings: Any) -> None:
    settings.SYNC_PUSH_RATE = settings.SYNC_PULL_RATE = "1000000/minute"
    # 32,000 operations create more connections than a team plan allows; plan limits have
    # their own tests (test_push.py).
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS,
        "team": {**settings.PLAN_LIMITS["team"], "connections": None, "saved_queries": None},
    }
    seed = int(os.environ.get("SYNC_STRESS_SEED", "1"))
    devices_count = int(os.environ.get("SYNC_STRESS_DEVICES", "16"))
    operations = int(os.environ.get("SYNC_STRESS_OPERATIONS", "2000"))
    rng = random.Random(seed)
    policy = POLICIES[seed % len(POLICIES)]
    devices, _outsider, _ = _fleet(policy, devices_count)
    for _ in range(operations * devices_count):
        roll = rng.random()
        who = rng.randrange(devices_count)
        if roll < 0.35:
            devices[who].create(ENTITIES[rng.randrange(len(ENTITIES))], rng)
        elif roll < 0.6:
            devices[who].edit(rng)
        elif roll < 0.7:
            devices[who].delete(rng)
        elif roll < 0.8:
            devices[who].push()
        elif roll < 0.88:
            devices[who].pull()
        elif roll < 0.9:
            devices[who].push(lose_response=True)
        else:
            chosen = rng.sample(range(devices_count), k=min(8, devices_count))
            perform(devices, ("concurrent_push" if roll < 0.96 else "concurrent_pull", chosen), rng)
    settle(devices)
    statuses = check(devices, owners=_owners(devices), policy=policy)
    sys.stdout.write(
        f"stress seed={seed} policy={policy} devices={devices_count} "
        f"operations={operations * devices_count} statuses={dict(statuses)}\n"
    )
