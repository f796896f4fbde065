"""Property tests: over generated fleets, pools, zones (with foreign and unowned records) and
health, no plan breaks S1, S4, S6 or S7, and applying a plan then planning again is empty."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eipkeeper.controller import planner, safety
from eipkeeper.controller.plan import Claim, DnsUnit, Move
from eipkeeper.dns.ownership import is_marker, marker_name
from eipkeeper.dns.records import Record
from eipkeeper.errors import SafetyRefusal
from eipkeeper.model import TAG_DRAIN
from tests.controller.world import World, make_config
from tests.support.builders import OWNER, ZONE, eip, instance

HOSTS = [f"mx1.{ZONE}", f"mx2.{ZONE}", f"mx3.{ZONE}", ""]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    instances = []
    for n in range(draw(st.integers(0, 5))):
        role = draw(st.sampled_from(["mx", "scan", "web"]))
        state = draw(st.sampled_from(["running", "running", "stopped", "pending"]))
        tags = {TAG_DRAIN: "dns-out"} if draw(st.booleans()) and n % 3 == 0 else {}
        instances.append(instance(f"{role}-{n}", role, n=n + 1, state=state, tags=tags))
    ids = [i.instance_id for i in instances if i.state != "pending"]
    addresses = []
    used: set[str] = set()
    for n in range(draw(st.integers(0, 4))):
        holder = draw(st.sampled_from(["", *ids]))
        if holder in used:
            holder = ""
        used.add(holder)
        owner = draw(st.sampled_from([OWNER, OWNER, "other", ""]))
        addresses.append(
            eip(n + 1, hostname=draw(st.sampled_from(HOSTS)), owner=owner, instance=holder)
        )
    by_id = {a.instance_id: a.public_ip for a in addresses if a.instance_id}
    instances = [replace(i, public_ip=by_id.get(i.instance_id, i.public_ip)) for i in instances]
    world = World(addresses=addresses, instances=instances)
    world.health = {i.instance_id: draw(st.booleans()) for i in instances}
    # The zone: records of nobody, of another owner, of ours (some stale), shared MX.
    for name in draw(
        st.lists(st.sampled_from([*HOSTS[:3], f"scan.{ZONE}", f"www.{ZONE}"]), unique=True)
    ):
        owner = draw(st.sampled_from(["", "other", OWNER]))
        world.add(
            Record(
                name, "A", 300, (draw(st.sampled_from(["192.0.2.7", "127.1.0.1", "127.0.9.9"])),)
            )
        )
        if owner:
            world.add(Record(marker_name(name, "A"), "TXT", 300, (f'"owner={owner}"',)))
    if draw(st.booleans()):
        world.add(Record(ZONE, "MX", 300, ("20 onprem.example.test.",)))
        world.add(
            Record(
                marker_name(ZONE, "MX"),
                "TXT",
                300,
                ('"owner=onprem" "values=20 onprem.example.test."',),
            )
        )
    return world


def foreign_keys(world: World) -> dict[tuple[str, str], Record]:
    """Records this owner must never change: everything not claimed by OWNER."""
    zone = world.observe().zone
    assert zone is not None
    ours = {o.record.key for o in zone.owned_by(OWNER)}
    return {k: r for k, r in world.records.items() if k not in ours and not is_marker(r)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), withdraw=st.booleans())
def test_plans_keep_the_rules_and_converge(world: World, withdraw: bool) -> None:
    config = make_config("withdraw" if withdraw else "keep")
    seen = world.observe()
    plan = planner.plan(config, seen)
    safety.check_s1(config, seen, plan)
    safety.check_s6(config, seen, plan)

    held = seen.held_addresses(config)
    for action in plan.actions:
        if isinstance(action, Claim | Move):
            target = seen.instance(action.instance_id)
            assert target is not None and seen.healthy(target), "S6"
        if isinstance(action, DnsUnit):
            for change in action.changes:
                if change.new is not None and change.new.type == "A":
                    assert set(change.new.values) <= held, "S1"

    untouchable = foreign_keys(world)
    world.apply(plan)
    for key, record in untouchable.items():
        if key[1] == "MX":
            assert set(record.values) <= set(world.records[key].values), "S4: shared MX kept"
        else:
            assert world.records.get(key) == record, f"S4: {key} changed"

    again = planner.plan(config, world.observe())
    moving = [a for a in again.actions if isinstance(a, Claim | Move | DnsUnit)]
    assert not moving, [a.describe() for a in moving]


@settings(max_examples=100, deadline=None)
@given(extra=st.integers(10, 30), stale=st.integers(0, 30))
def test_s7_refuses_exactly_beyond_the_threshold(extra: int, stale: int) -> None:
    config = make_config()
    world = World(addresses=[], instances=[])
    stale = min(stale, extra)
    for n in range(extra):
        name = f"h{n}.{ZONE}"
        world.add(Record(name, "A", 60, ("127.1.0.1",)))
        world.add(Record(marker_name(name, "A"), "TXT", 60, (f'"owner={OWNER}"',)))
    plan = planner.plan(config, world.observe())
    touched = len(safety.changed_records(plan))
    assert touched == extra, "every h* name is stale: not in the config"
    refused = False
    try:
        safety.check_s7(config, plan)
    except SafetyRefusal:
        refused = True
    assert refused == (100.0 * touched / plan.managed_records > config.safety.max_change_percent)
