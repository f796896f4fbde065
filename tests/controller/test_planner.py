"""The planner on hand-made fleets: what it claims, moves, publishes and refuses to touch."""

from __future__ import annotations

from eipkeeper.controller import planner, safety
from eipkeeper.controller.plan import Bind, Claim, DnsUnit, Move
from eipkeeper.dns.ownership import marker_name
from eipkeeper.dns.records import Record
from eipkeeper.model import TAG_DRAIN
from tests.controller.world import World, make_config
from tests.support.builders import OWNER, ZONE, eip, instance


def fresh_world() -> World:
    """The sandbox's first launch: three idle pool EIPs, three mx and two scan instances."""
    return World(
        addresses=[
            eip(1, hostname=f"mx1.{ZONE}"),
            eip(2, hostname=f"mx2.{ZONE}"),
            eip(3, hostname=f"mx3.{ZONE}"),
        ],
        instances=[
            instance("mx-a", "mx", n=1),
            instance("mx-b", "mx", n=2),
            instance("mx-c", "mx", n=3),
            instance("scan-a", "scan", n=4),
            instance("scan-b", "scan", n=5),
        ],
    )


def test_first_plan_claims_two_addresses_and_publishes_everything() -> None:
    world, config = fresh_world(), make_config()
    plan = planner.plan(config, world.observe())
    claims = [a for a in plan.actions if isinstance(a, Claim)]
    assert [(c.public_ip, c.instance_id) for c in claims] == [
        ("127.1.0.1", "i-0001"),
        ("127.1.0.2", "i-0002"),
    ], "mx3 is reserved for bursts; mx-c stays the standby"
    names = {c.record.name for a in plan.actions if isinstance(a, DnsUnit) for c in a.changes}
    assert {f"mx1.{ZONE}", f"mx2.{ZONE}", f"mx3.{ZONE}", f"scan.{ZONE}", ZONE} <= names
    assert marker_name(f"mx1.{ZONE}", "A") in names
    assert all(a.phase == "dns-upsert" for a in plan.actions if isinstance(a, DnsUnit))
    safety.check(config, world.observe(), plan)

    world.apply(plan)
    assert world.records[(ZONE, "MX")].values == (
        f"10 mx1.{ZONE}.",
        f"10 mx2.{ZONE}.",
        f"20 mx3.{ZONE}.",
    )
    assert world.records[(f"scan.{ZONE}", "A")].ttl == 60
    assert planner.plan(config, world.observe()).empty


def test_a_failed_holder_hands_its_address_to_the_standby() -> None:
    world, config = fresh_world(), make_config()
    world.apply(planner.plan(config, world.observe()))
    world.health["i-0001"] = False
    plan = planner.plan(config, world.observe())
    move = plan.actions[0]
    assert len(plan.actions) == 1 and isinstance(move, Move) and move.instance_id == "i-0003"
    assert isinstance(move, Move) and move.from_instance == "i-0001"
    assert "failed its check" in move.reason
    safety.check(config, world.observe(), plan)


def test_without_a_standby_the_address_stays_and_is_reported() -> None:
    world, config = fresh_world(), make_config()
    world.apply(planner.plan(config, world.observe()))
    world.health["i-0001"] = False
    world.health["i-0003"] = False
    plan = planner.plan(config, world.observe())
    assert not [a for a in plan.actions if isinstance(a, Claim | Move)]
    assert [(f.kind, f.subject) for f in plan.findings] == [("unbacked-mx", f"mx1.{ZONE}")]


def test_withdraw_takes_an_unbacked_host_out_of_mx_and_back() -> None:
    world, config = fresh_world(), make_config("withdraw")
    world.apply(planner.plan(config, world.observe()))
    assert world.records[(ZONE, "MX")].values == (f"10 mx1.{ZONE}.", f"10 mx2.{ZONE}.")
    world.health.update({"i-0001": False, "i-0003": False})
    world.apply(planner.plan(config, world.observe()))
    assert world.records[(ZONE, "MX")].values == (f"10 mx2.{ZONE}.",)
    assert world.records[(f"mx1.{ZONE}", "A")].values == ("127.1.0.1",), "the A stays on the EIP"
    world.health["i-0003"] = True
    world.apply(planner.plan(config, world.observe()))
    assert world.records[(ZONE, "MX")].values == (f"10 mx1.{ZONE}.", f"10 mx2.{ZONE}.")


def test_a_dead_dynamic_instance_leaves_dns_in_the_next_round() -> None:
    world, config = fresh_world(), make_config()
    world.apply(planner.plan(config, world.observe()))
    assert len(world.records[(f"scan.{ZONE}", "A")].values) == 2
    world.instances = [i for i in world.instances if i.name != "scan-a"]
    plan = planner.plan(config, world.observe())
    units = [a for a in plan.actions if isinstance(a, DnsUnit)]
    assert len(units) == 1 and units[0].phase == "dns-delete"
    assert units[0].removed_addresses == ("127.2.0.4",)
    world.apply(plan)
    assert world.records[(f"scan.{ZONE}", "A")].values == ("127.2.0.5",)


def test_a_draining_instance_is_never_put_back() -> None:
    world, config = fresh_world(), make_config()
    world.apply(planner.plan(config, world.observe()))
    world.instances[3] = world.instances[3].__class__(
        **{**vars(world.instances[3]), "tags": {**world.instances[3].tags, TAG_DRAIN: "dns-out"}}
    )
    world.apply(planner.plan(config, world.observe()))
    assert world.records[(f"scan.{ZONE}", "A")].values == ("127.2.0.5",)
    assert planner.plan(config, world.observe()).empty


def test_untagged_pool_members_are_bound_in_config_order() -> None:
    world = fresh_world()
    world.addresses = [eip(1, hostname=f"mx2.{ZONE}"), eip(7), eip(8)]
    plan = planner.plan(make_config(), world.observe())
    binds = [(a.public_ip, a.hostname) for a in plan.actions if isinstance(a, Bind)]
    assert binds == [("127.1.0.7", f"mx1.{ZONE}"), ("127.1.0.8", f"mx3.{ZONE}")]


def test_records_of_others_are_left_alone_and_reported() -> None:
    world, config = fresh_world(), make_config()
    world.add(Record(f"mx1.{ZONE}", "A", 300, ("192.0.2.1",)))  # nobody's
    world.add(Record(ZONE, "MX", 300, ("20 onprem.example.test.",)))
    world.add(Record(marker_name(ZONE, "MX"), "TXT", 300, ('"owner=onprem"',)))
    plan = planner.plan(config, world.observe())
    touched = {c.record.key for a in plan.actions if isinstance(a, DnsUnit) for c in a.changes}
    assert (f"mx1.{ZONE}", "A") not in touched
    assert (ZONE, "MX") not in touched
    assert {f.subject for f in plan.findings if f.kind == "foreign-owner"} == {f"mx1.{ZONE}", ZONE}


def test_a_shared_mx_set_keeps_the_other_owners_hosts() -> None:
    world, config = fresh_world(), make_config()
    world.add(Record(ZONE, "MX", 300, ("20 onprem.example.test.",)))
    world.add(
        Record(
            marker_name(ZONE, "MX"),
            "TXT",
            300,
            ('"owner=onprem" "values=20 onprem.example.test."', f'"owner={OWNER}" "values="'),
        )
    )
    world.apply(planner.plan(config, world.observe()))
    assert "20 onprem.example.test." in world.records[(ZONE, "MX")].values
    assert f"10 mx1.{ZONE}." in world.records[(ZONE, "MX")].values


def test_s7_refuses_a_plan_that_changes_too_much() -> None:
    world = fresh_world()
    config = make_config()
    world.apply(planner.plan(config, world.observe()))
    for n in range(12):
        name = f"h{n}.{ZONE}"
        world.add(Record(name, "A", 60, ("127.1.0.1",)))
        world.add(Record(marker_name(name, "A"), "TXT", 60, (f'"owner={OWNER}"',)))
    plan = planner.plan(config, world.observe())
    assert len(safety.changed_records(plan)) == 12, "the names left the config: stale"
    try:
        safety.check(config, world.observe(), plan)
    except Exception as refusal:
        assert "refused by S7" in str(refusal)
    else:
        raise AssertionError("S7 should refuse")
    safety.check(config, world.observe(), plan, force=True)
